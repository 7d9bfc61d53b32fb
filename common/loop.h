/* The event loop every daemon runs on one thread: epoll for fds, a min-heap of
 * timers, a queue that other threads post events to (woken by an eventfd), and
 * SIGINT/SIGTERM/SIGHUP read through a signalfd. Phases per turn: wait until the
 * next timer -> ready fds -> expired timers -> posted events.
 * Only loop_post() may be called from another thread. */
#ifndef IMS_LOOP_H
#define IMS_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

struct loop;

/* Called on the loop thread when fd is ready; events is the epoll mask. */
typedef void (*loop_fd_cb)(struct loop *lp, int fd, uint32_t events, void *arg);
/* Called on the loop thread for timers and posted events. */
typedef void (*loop_cb)(struct loop *lp, void *arg);

/* Blocks SIGINT, SIGTERM, SIGHUP and ignores SIGPIPE in the calling thread. Call first
 * in main(), before any thread (freeDiameter, MHD) is created, so they inherit the mask. */
void loop_block_signals(void);

/* Returns a new loop (owned by the caller, free with loop_free) or NULL. */
struct loop *loop_new(void);
/* Frees the loop, its pending timers and posted events (callbacks are not run). NULL ok. */
void loop_free(struct loop *lp);

/* Watches fd for events (EPOLLIN/EPOLLOUT...). The fd stays owned by the caller.
 * Returns 0 or -errno. */
int loop_fd_add(struct loop *lp, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int loop_fd_mod(struct loop *lp, int fd, uint32_t events);
/* Stops watching fd; safe to call from inside that fd's callback. */
int loop_fd_del(struct loop *lp, int fd);

/* Runs cb(arg) once after ms milliseconds. Returns a timer id (> 0) or 0 on ENOMEM. */
uint64_t loop_timer_add(struct loop *lp, uint64_t ms, loop_cb cb, void *arg);
/* Cancels a pending timer; unknown or already fired ids are ignored. */
void loop_timer_cancel(struct loop *lp, uint64_t id);

/* Thread-safe: queues cb(arg) to run on the loop thread. Returns 0 or -ENOMEM. */
int loop_post(struct loop *lp, loop_cb cb, void *arg);

/* Called on the loop thread when a blocked signal arrives (SIGHUP is passed to it too);
 * without a handler SIGINT/SIGTERM stop the loop. */
void loop_on_signal(struct loop *lp, void (*cb)(struct loop *lp, int signo, void *arg), void *arg);

/* Runs until loop_stop(). Returns 0, or -errno if epoll fails. */
int loop_run(struct loop *lp);
void loop_stop(struct loop *lp);

/* Monotonic milliseconds, cached once per loop turn. */
uint64_t loop_now(const struct loop *lp);
/* Monotonic milliseconds, read now (any thread). */
uint64_t loop_clock_ms(void);
/* Monotonic microseconds, read now (any thread): for latency figures. */
uint64_t loop_clock_us(void);

#endif
