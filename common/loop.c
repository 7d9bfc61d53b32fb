/* The event loop: epoll for fds, a binary min-heap of timers addressed through a slot
 * table (so cancel is O(log n) without a search), a mutex-protected queue of events
 * posted by other threads and woken by an eventfd, and a signalfd.
 * One turn: wait until the next timer -> ready fds -> expired timers -> posted events. */
#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 256

struct watch {
	int fd;                  /* watched fd, owned by the caller */
	loop_fd_cb cb;           /* readiness callback */
	void *arg;               /* callback argument, owned by the caller */
	bool dead;               /* removed during this turn; freed when the turn ends */
	struct watch *next_dead; /* link in the reap list */
};

struct timer_slot {
	uint64_t due;       /* monotonic ms */
	uint32_t gen;       /* bumped on every reuse, part of the id */
	int heap_pos;       /* index in the heap, -1 when free */
	loop_cb cb;         /* callback */
	void *arg;          /* callback argument, owned by the caller */
	uint32_t next_free; /* free list link (slot index + 1, 0 = end) */
};

struct posted {
	loop_cb cb;          /* callback run on the loop thread */
	void *arg;           /* callback argument, owned by the poster */
	struct posted *next; /* queue link */
};

struct loop {
	int epfd;                  /* epoll instance */
	int evfd;                  /* eventfd woken by loop_post */
	int sigfd;                 /* signalfd for SIGINT, SIGTERM, SIGHUP */
	bool running;              /* cleared by loop_stop */
	uint64_t now;              /* cached monotonic ms for this turn */
	struct watch **watches;    /* owned; indexed by fd */
	size_t n_watches;          /* capacity of watches */
	struct watch *dead;        /* owned; watches removed during this turn */
	struct timer_slot *slots;  /* owned; timer storage */
	uint32_t n_slots;          /* capacity of slots */
	uint32_t free_slot;        /* head of the free list (index + 1, 0 = none) */
	uint32_t *heap;            /* owned; slot indices ordered by due time */
	uint32_t heap_len;         /* entries in heap */
	pthread_mutex_t post_lock; /* guards post_head/post_tail */
	struct posted *post_head;  /* owned; events posted by other threads */
	struct posted *post_tail;  /* last posted event */
	void (*on_signal)(struct loop *, int, void *); /* signal handler or NULL */
	void *signal_arg;                              /* its argument */
};

static sigset_t loop_sigset(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	return set;
}

void loop_block_signals(void)
{
	sigset_t set = loop_sigset();

	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

uint64_t loop_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t loop_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t loop_now(const struct loop *lp)
{
	return lp->now;
}

static void loop_on_wake(struct loop *lp, int fd, uint32_t events, void *arg);
static void loop_on_sigfd(struct loop *lp, int fd, uint32_t events, void *arg);

struct loop *loop_new(void)
{
	struct loop *lp = calloc(1, sizeof(*lp));
	sigset_t set = loop_sigset();

	if (!lp)
		return NULL;
	lp->epfd = epoll_create1(EPOLL_CLOEXEC);
	lp->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	lp->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	pthread_mutex_init(&lp->post_lock, NULL);
	lp->now = loop_clock_ms();
	if (lp->epfd < 0 || lp->evfd < 0 || lp->sigfd < 0)
		goto out_free;
	if (loop_fd_add(lp, lp->evfd, EPOLLIN, loop_on_wake, NULL) < 0 ||
	    loop_fd_add(lp, lp->sigfd, EPOLLIN, loop_on_sigfd, NULL) < 0)
		goto out_free;
	return lp;
out_free:
	loop_free(lp);
	return NULL;
}

static void loop_reap(struct loop *lp)
{
	while (lp->dead) {
		struct watch *w = lp->dead;

		lp->dead = w->next_dead;
		free(w);
	}
}

void loop_free(struct loop *lp)
{
	if (!lp)
		return;
	for (size_t i = 0; i < lp->n_watches; i++)
		free(lp->watches[i]);
	loop_reap(lp);
	while (lp->post_head) {
		struct posted *p = lp->post_head;

		lp->post_head = p->next;
		free(p);
	}
	if (lp->epfd >= 0)
		close(lp->epfd);
	if (lp->evfd >= 0)
		close(lp->evfd);
	if (lp->sigfd >= 0)
		close(lp->sigfd);
	pthread_mutex_destroy(&lp->post_lock);
	free(lp->watches);
	free(lp->slots);
	free(lp->heap);
	free(lp);
}

int loop_fd_add(struct loop *lp, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct epoll_event ev = {.events = events};
	struct watch *w;

	if (fd < 0)
		return -EBADF;
	if ((size_t)fd >= lp->n_watches) {
		size_t n = lp->n_watches ? lp->n_watches : 64;
		struct watch **grown;

		while (n <= (size_t)fd)
			n *= 2;
		grown = realloc(lp->watches, n * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		memset(grown + lp->n_watches, 0, (n - lp->n_watches) * sizeof(*grown));
		lp->watches = grown;
		lp->n_watches = n;
	}
	if (lp->watches[fd])
		return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	ev.data.ptr = w;
	if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		free(w);
		return err;
	}
	lp->watches[fd] = w;
	return 0;
}

int loop_fd_mod(struct loop *lp, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events};

	if (fd < 0 || (size_t)fd >= lp->n_watches || !lp->watches[fd])
		return -ENOENT;
	ev.data.ptr = lp->watches[fd];
	return epoll_ctl(lp->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int loop_fd_del(struct loop *lp, int fd)
{
	struct watch *w;

	if (fd < 0 || (size_t)fd >= lp->n_watches || !lp->watches[fd])
		return -ENOENT;
	w = lp->watches[fd];
	lp->watches[fd] = NULL;
	epoll_ctl(lp->epfd, EPOLL_CTL_DEL, fd, NULL);
	/* Events for w may still sit in this turn's batch: free it after the turn. */
	w->dead = true;
	w->next_dead = lp->dead;
	lp->dead = w;
	return 0;
}

static bool timer_before(const struct loop *lp, uint32_t a, uint32_t b)
{
	return lp->slots[a].due < lp->slots[b].due;
}

static void heap_set(struct loop *lp, uint32_t pos, uint32_t slot)
{
	lp->heap[pos] = slot;
	lp->slots[slot].heap_pos = (int)pos;
}

static void heap_up(struct loop *lp, uint32_t pos)
{
	uint32_t slot = lp->heap[pos];

	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;

		if (!timer_before(lp, slot, lp->heap[parent]))
			break;
		heap_set(lp, pos, lp->heap[parent]);
		pos = parent;
	}
	heap_set(lp, pos, slot);
}

static void heap_down(struct loop *lp, uint32_t pos)
{
	uint32_t slot = lp->heap[pos];

	for (;;) {
		uint32_t child = 2 * pos + 1;

		if (child >= lp->heap_len)
			break;
		if (child + 1 < lp->heap_len &&
		    timer_before(lp, lp->heap[child + 1], lp->heap[child]))
			child++;
		if (!timer_before(lp, lp->heap[child], slot))
			break;
		heap_set(lp, pos, lp->heap[child]);
		pos = child;
	}
	heap_set(lp, pos, slot);
}

static void heap_remove(struct loop *lp, uint32_t pos)
{
	uint32_t last = lp->heap[--lp->heap_len];

	lp->slots[lp->heap[pos]].heap_pos = -1;
	if (pos == lp->heap_len)
		return;
	heap_set(lp, pos, last);
	heap_down(lp, pos);
	heap_up(lp, (uint32_t)lp->slots[last].heap_pos);
}

static int timer_grow(struct loop *lp)
{
	uint32_t n = lp->n_slots ? lp->n_slots * 2 : 64;
	struct timer_slot *slots = realloc(lp->slots, n * sizeof(*slots));
	uint32_t *heap;

	if (!slots)
		return -ENOMEM;
	lp->slots = slots;
	heap = realloc(lp->heap, n * sizeof(*heap));
	if (!heap)
		return -ENOMEM;
	lp->heap = heap;
	for (uint32_t i = lp->n_slots; i < n; i++) {
		slots[i] = (struct timer_slot){.heap_pos = -1, .next_free = lp->free_slot};
		lp->free_slot = i + 1;
	}
	lp->n_slots = n;
	return 0;
}

uint64_t loop_timer_add(struct loop *lp, uint64_t ms, loop_cb cb, void *arg)
{
	struct timer_slot *t;
	uint32_t slot;

	if (!lp->free_slot && timer_grow(lp) < 0)
		return 0;
	slot = lp->free_slot - 1;
	t = &lp->slots[slot];
	lp->free_slot = t->next_free;
	t->gen++;
	t->due = loop_clock_ms() + ms;
	t->cb = cb;
	t->arg = arg;
	lp->heap[lp->heap_len] = slot;
	t->heap_pos = (int)lp->heap_len++;
	heap_up(lp, (uint32_t)t->heap_pos);
	return ((uint64_t)t->gen << 32) | (slot + 1);
}

static void timer_release(struct loop *lp, uint32_t slot)
{
	lp->slots[slot].next_free = lp->free_slot;
	lp->free_slot = slot + 1;
}

void loop_timer_cancel(struct loop *lp, uint64_t id)
{
	uint32_t slot = (uint32_t)(id & 0xffffffffu) - 1;
	struct timer_slot *t;

	if (id == 0 || slot >= lp->n_slots)
		return;
	t = &lp->slots[slot];
	if (t->gen != (uint32_t)(id >> 32) || t->heap_pos < 0)
		return;
	heap_remove(lp, (uint32_t)t->heap_pos);
	timer_release(lp, slot);
}

static void loop_run_timers(struct loop *lp)
{
	while (lp->heap_len && lp->slots[lp->heap[0]].due <= lp->now) {
		uint32_t slot = lp->heap[0];
		loop_cb cb = lp->slots[slot].cb;
		void *arg = lp->slots[slot].arg;

		heap_remove(lp, 0);
		timer_release(lp, slot);
		cb(lp, arg);
	}
}

int loop_post(struct loop *lp, loop_cb cb, void *arg)
{
	struct posted *p = malloc(sizeof(*p));
	uint64_t one = 1;
	bool was_empty;

	if (!p)
		return -ENOMEM;
	p->cb = cb;
	p->arg = arg;
	p->next = NULL;
	pthread_mutex_lock(&lp->post_lock);
	was_empty = lp->post_head == NULL;
	if (lp->post_tail)
		lp->post_tail->next = p;
	else
		lp->post_head = p;
	lp->post_tail = p;
	pthread_mutex_unlock(&lp->post_lock);
	/* One wake-up per batch: the loop drains the whole queue when it reads the eventfd. */
	if (was_empty && write(lp->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static void loop_on_wake(struct loop *lp, int fd, uint32_t events, void *arg)
{
	uint64_t count;

	if (read(fd, &count, sizeof(count)) < 0)
		return;
}

static void loop_run_posted(struct loop *lp)
{
	struct posted *p;

	pthread_mutex_lock(&lp->post_lock);
	p = lp->post_head;
	lp->post_head = lp->post_tail = NULL;
	pthread_mutex_unlock(&lp->post_lock);
	while (p) {
		struct posted *next = p->next;

		p->cb(lp, p->arg);
		free(p);
		p = next;
	}
}

void loop_on_signal(struct loop *lp, void (*cb)(struct loop *lp, int signo, void *arg), void *arg)
{
	lp->on_signal = cb;
	lp->signal_arg = arg;
}

static void loop_on_sigfd(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (lp->on_signal)
			lp->on_signal(lp, (int)si.ssi_signo, lp->signal_arg);
		else if (si.ssi_signo != SIGHUP)
			loop_stop(lp);
	}
}

static int loop_wait_ms(const struct loop *lp)
{
	uint64_t due;

	if (!lp->heap_len)
		return -1;
	due = lp->slots[lp->heap[0]].due;
	if (due <= lp->now)
		return 0;
	return due - lp->now > 60000 ? 60000 : (int)(due - lp->now);
}

int loop_run(struct loop *lp)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];

	lp->running = true;
	while (lp->running) {
		int n;

		lp->now = loop_clock_ms();
		n = epoll_wait(lp->epfd, evs, LOOP_MAX_EVENTS, loop_wait_ms(lp));
		if (n < 0 && errno != EINTR)
			return -errno;
		lp->now = loop_clock_ms();
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;

			if (!w->dead)
				w->cb(lp, w->fd, evs[i].events, w->arg);
		}
		loop_reap(lp);
		loop_run_timers(lp);
		loop_run_posted(lp);
	}
	return 0;
}

void loop_stop(struct loop *lp)
{
	lp->running = false;
}
