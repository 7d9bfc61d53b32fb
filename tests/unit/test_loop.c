/* Event loop: timer order and cancellation, fd readiness, removal inside a callback,
 * events posted from another thread, signals through the signalfd. */
#include "loop.h"
#include "unit.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

struct trace {
	int order[16]; /* values recorded by callbacks, in call order */
	int n;         /* entries in order */
};

struct mark {
	struct trace *trace; /* where to record */
	int value;           /* what to record */
};

static void record(struct loop *lp, void *arg)
{
	struct mark *m = arg;

	m->trace->order[m->trace->n++] = m->value;
}

static void stop(struct loop *lp, void *arg)
{
	loop_stop(lp);
}

static void test_timer_order(void)
{
	struct loop *lp = loop_new();
	struct trace tr = {0};
	struct mark m[4] = {{&tr, 30}, {&tr, 10}, {&tr, 20}, {&tr, 99}};
	uint64_t cancelled;

	CU_ASSERT_PTR_NOT_NULL_FATAL(lp);
	CU_ASSERT(loop_timer_add(lp, 30, record, &m[0]) != 0);
	CU_ASSERT(loop_timer_add(lp, 10, record, &m[1]) != 0);
	CU_ASSERT(loop_timer_add(lp, 20, record, &m[2]) != 0);
	cancelled = loop_timer_add(lp, 15, record, &m[3]);
	loop_timer_cancel(lp, cancelled);
	loop_timer_cancel(lp, cancelled);
	loop_timer_add(lp, 40, stop, NULL);
	CU_ASSERT_EQUAL(loop_run(lp), 0);
	CU_ASSERT_EQUAL(tr.n, 3);
	CU_ASSERT_EQUAL(tr.order[0], 10);
	CU_ASSERT_EQUAL(tr.order[1], 20);
	CU_ASSERT_EQUAL(tr.order[2], 30);
	loop_free(lp);
}

static void test_timer_many(void)
{
	struct loop *lp = loop_new();
	uint64_t ids[500];
	struct trace tr = {0};
	struct mark m = {&tr, 1};

	CU_ASSERT_PTR_NOT_NULL_FATAL(lp);
	for (int i = 0; i < 500; i++)
		ids[i] = loop_timer_add(lp, (uint64_t)(1000 + i), record, &m);
	for (int i = 0; i < 500; i++)
		loop_timer_cancel(lp, ids[i]);
	loop_timer_add(lp, 5, record, &m);
	loop_timer_add(lp, 10, stop, NULL);
	loop_run(lp);
	CU_ASSERT_EQUAL(tr.n, 1);
	loop_free(lp);
}

struct pipe_ctx {
	int fds[2]; /* pipe read and write ends */
	int reads;  /* callback invocations */
};

static void on_pipe(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct pipe_ctx *pc = arg;
	char c;

	CU_ASSERT(events & EPOLLIN);
	CU_ASSERT_EQUAL(read(fd, &c, 1), 1);
	pc->reads++;
	/* Removing the watched fd from inside its own callback must be safe. */
	CU_ASSERT_EQUAL(loop_fd_del(lp, fd), 0);
	loop_stop(lp);
}

static void test_fd_ready_and_del(void)
{
	struct loop *lp = loop_new();
	struct pipe_ctx pc = {0};

	CU_ASSERT_PTR_NOT_NULL_FATAL(lp);
	CU_ASSERT_EQUAL_FATAL(pipe(pc.fds), 0);
	CU_ASSERT_EQUAL(loop_fd_add(lp, pc.fds[0], EPOLLIN, on_pipe, &pc), 0);
	CU_ASSERT_EQUAL(loop_fd_add(lp, pc.fds[0], EPOLLIN, on_pipe, &pc), -EEXIST);
	CU_ASSERT_EQUAL(write(pc.fds[1], "xy", 2), 2);
	loop_run(lp);
	CU_ASSERT_EQUAL(pc.reads, 1);
	CU_ASSERT_EQUAL(loop_fd_del(lp, pc.fds[0]), -ENOENT);
	close(pc.fds[0]);
	close(pc.fds[1]);
	loop_free(lp);
}

struct poster {
	struct loop *lp;      /* loop to post to */
	struct trace trace;   /* filled on the loop thread */
	struct mark marks[8]; /* one per posted event */
};

static void *post_from_thread(void *arg)
{
	struct poster *p = arg;

	for (int i = 0; i < 8; i++) {
		p->marks[i] = (struct mark){&p->trace, i};
		loop_post(p->lp, record, &p->marks[i]);
	}
	loop_post(p->lp, stop, NULL);
	return NULL;
}

static void test_post_from_thread(void)
{
	struct poster p = {.lp = loop_new()};
	pthread_t th;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p.lp);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, post_from_thread, &p), 0);
	loop_run(p.lp);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(p.trace.n, 8);
	for (int i = 0; i < p.trace.n; i++)
		CU_ASSERT_EQUAL(p.trace.order[i], i);
	loop_free(p.lp);
}

static void on_signal(struct loop *lp, int signo, void *arg)
{
	*(int *)arg = signo;
	loop_stop(lp);
}

static void test_signal(void)
{
	struct loop *lp;
	int got = 0;

	loop_block_signals();
	lp = loop_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(lp);
	loop_on_signal(lp, on_signal, &got);
	CU_ASSERT_EQUAL(kill(getpid(), SIGHUP), 0);
	loop_run(lp);
	CU_ASSERT_EQUAL(got, SIGHUP);
	loop_free(lp);
}

int test_loop_register(void)
{
	static CU_TestInfo tests[] = {
	    {"timers fire in due order, cancel works", test_timer_order},
	    {"500 cancelled timers never fire", test_timer_many},
	    {"fd readiness and removal in callback", test_fd_ready_and_del},
	    {"events posted from another thread", test_post_from_thread},
	    {"signals arrive through signalfd", test_signal},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("loop", tests);
}
