/*
 * test_drive.c - the drive registry's lifecycle: drives made for names give back
 * their thread and descriptors once nobody holds, waits for or uses them, and
 * are forgotten unless opened (then the most recent few are listed); declared
 * drives stay; running out of descriptors is EMFILE, not EAGAIN.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "drive.h"

static struct event_base *base;
static struct drive_registry drives;
static int acquired_error = 1;

static void setup(void)
{
	cr_assert_eq(evthread_use_pthreads(), 0);
	base = event_base_new();
	cr_assert_not_null(base);
}

static void teardown(void)
{
	drive_registry_free(&drives);
	event_base_free(base);
}

TestSuite(drive, .init = setup, .fini = teardown);

static int count_entries(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *entry;
	int count = 0;

	cr_assert_not_null(dir);
	while ((entry = readdir(dir)) != NULL)
		count += entry->d_name[0] != '.';
	closedir(dir);
	return count;
}

static void acquired(struct drive *drive, int error, void *arg)
{
	acquired_error = error;
}

Test(drive, a_name_is_forgotten_when_released)
{
	struct drive *drive;
	int holder;

	drive_registry_init(&drives, base, false, 0);
	drive = drive_lookup(&drives, "/spool/a.tap", DEVICE_KIND_VTAPE, false);
	cr_assert_not_null(drive);
	cr_assert_eq(drive_lookup(&drives, "/spool/a.tap", DEVICE_KIND_VTAPE, false), drive);
	cr_assert_eq(drive_acquire(&drives, drive, &holder, acquired, NULL), 0);
	cr_assert_eq(drive_count_known(&drives), 1);
	drive_release(&drives, drive, &holder);
	cr_assert_eq(drive_count_known(&drives), 0, "an unused drive of a name is freed");
	cr_assert_null(drive_find(&drives, "/spool/a.tap"));
}

Test(drive, declared_drives_stay)
{
	struct drive *drive;
	int holder;

	drive_registry_init(&drives, base, false, 0);
	drive = drive_lookup(&drives, "/dev/nst0", DEVICE_KIND_TAPE, true);
	cr_assert_eq(drive_acquire(&drives, drive, &holder, acquired, NULL), 0);
	drive_release(&drives, drive, &holder);
	cr_assert_eq(drive_find(&drives, "/dev/nst0"), drive, "a declared drive is kept");
	cr_assert(drive->declared);
}

Test(drive, kept_while_waited_for_and_freed_after)
{
	struct drive *drive;
	int first, second;

	drive_registry_init(&drives, base, false, 30);
	drive = drive_lookup(&drives, "/spool/b.tap", DEVICE_KIND_VTAPE, false);
	cr_assert_eq(drive_acquire(&drives, drive, &first, acquired, NULL), 0);
	cr_assert_eq(drive_acquire(&drives, drive, &second, acquired, NULL), 1, "queued");
	drive_release(&drives, drive, &first);
	cr_assert_eq(acquired_error, 0, "the waiter got it");
	cr_assert_eq(drive->holder, &second);
	cr_assert_eq(drive_count_known(&drives), 1);
	/* A waiter that leaves while another holds: the holder keeps it. */
	cr_assert_eq(drive_acquire(&drives, drive, &first, acquired, NULL), 1);
	drive_cancel_wait(&drives, drive, &first);
	cr_assert_eq(drive_count_known(&drives), 1);
	drive_release(&drives, drive, &second);
	cr_assert_eq(drive_count_known(&drives), 0);
}

Test(drive, an_open_device_keeps_its_drive)
{
	struct drive *drive;
	int holder;

	drive_registry_init(&drives, base, false, 0);
	drive = drive_lookup(&drives, "/spool/c.dat", DEVICE_KIND_FILE, false);
	cr_assert_eq(drive_acquire(&drives, drive, &holder, acquired, NULL), 0);
	drive->device_open = true; /* released without closing: a bug, but never freed open */
	drive_release(&drives, drive, &holder);
	cr_assert_eq(drive_count_known(&drives), 1);
	drive->device_open = false;
}

Test(drive, threads_and_descriptors_come_back)
{
	int threads = count_entries("/proc/self/task");
	int fds = count_entries("/proc/self/fd");

	drive_registry_init(&drives, base, true, 0);
	for (int i = 0; i < 200; i++) {
		char name[64];
		struct drive *drive;
		int holder;

		snprintf(name, sizeof(name), "/spool/name-%d", i);
		drive = drive_lookup(&drives, name, DEVICE_KIND_FILE, false);
		cr_assert_eq(drive_acquire(&drives, drive, &holder, acquired, NULL), 0);
		cr_assert_not_null(drive->worker);
		drive_release(&drives, drive, &holder);
	}
	cr_assert_eq(drive_count_known(&drives), 0);
	cr_assert_eq(count_entries("/proc/self/task"), threads, "every drive thread was joined");
	cr_assert_eq(count_entries("/proc/self/fd"), fds, "every eventfd was closed");
}

Test(drive, opened_names_are_remembered_without_their_threads)
{
	int threads = count_entries("/proc/self/task");
	int fds = count_entries("/proc/self/fd");
	char name[64];

	drive_registry_init(&drives, base, true, 0);
	for (int i = 0; i < 3 * DRIVE_IDLE_REMEMBERED; i++) {
		struct drive *drive;
		int holder;

		snprintf(name, sizeof(name), "/spool/tape-%d.tap", i);
		drive = drive_lookup(&drives, name, DEVICE_KIND_VTAPE, false);
		cr_assert_eq(drive_acquire(&drives, drive, &holder, acquired, NULL), 0);
		drive->opened = true;
		drive_release(&drives, drive, &holder);
		cr_assert_null(drive->worker, "an idle drive has no thread");
	}
	cr_assert_eq(drive_count_known(&drives), DRIVE_IDLE_REMEMBERED);
	cr_assert_not_null(drive_find(&drives, name), "the most recent is listed");
	cr_assert_null(drive_find(&drives, "/spool/tape-0.tap"), "the oldest is forgotten");
	cr_assert_eq(count_entries("/proc/self/task"), threads);
	cr_assert_eq(count_entries("/proc/self/fd"), fds);
}

Test(drive, out_of_descriptors_is_emfile)
{
	struct rlimit limit = {64, 64};
	struct drive *drive;
	int holder, fd, last = -1;

	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &limit), 0);
	drive_registry_init(&drives, base, true, 0);
	/* Fill the table, then give one back: the drive's second eventfd finds none. */
	while ((fd = open("/dev/null", O_RDONLY)) >= 0)
		last = fd;
	cr_assert_eq(errno, EMFILE);
	close(last);
	drive = drive_lookup(&drives, "/spool/d.dat", DEVICE_KIND_FILE, false);
	cr_assert_eq(drive_acquire(&drives, drive, &holder, acquired, NULL), -EMFILE);
	cr_assert_eq(drive_count_known(&drives), 0, "the drive that could not start is freed");
}

/* A tape operation that waits for a byte on a pipe: the drive's thread is busy. */
static int hold_pipe[2];

static int held_tape_op(struct device *dev, int op, int count)
{
	char byte;

	return read(hold_pipe[0], &byte, 1) == 1 ? 0 : -EIO;
}

static const struct backend_ops held_ops = {.name = "held", .tape_op = held_tape_op};

static void job_done(struct job *job, void *arg)
{
	*(bool *)arg = true;
}

/* Counters saved for this drive so far (mounts: each start counts one). */
static uint64_t saved_mounts(const char *state_dir, const char *name)
{
	struct counters saved;

	cr_assert_eq(counters_load(state_dir, COUNTERS_DRIVE, name, &saved), 0);
	return saved.totals.mounts;
}

/* A drive whose thread is in a device call until held_let_go(), with a cartridge's state. */
struct held {
	char state_dir[sizeof("/tmp/rmtd-drive-state-XXXXXX")];
	struct job job;
	struct drive *drive;
	bool call_done;
	int holder;
};

static struct drive *held_start(struct held *h, const char *name, const char *cartridge)
{
	memset(h, 0, sizeof(*h));
	strcpy(h->state_dir, "/tmp/rmtd-drive-state-XXXXXX");
	cr_assert_not_null(mkdtemp(h->state_dir));
	cr_assert_eq(pipe(hold_pipe), 0);
	drive_registry_init(&drives, base, true, 0);
	h->drive = drive_lookup(&drives, name, DEVICE_KIND_VTAPE, false);
	cr_assert_eq(drive_acquire(&drives, h->drive, &h->holder, acquired, NULL), 0);
	h->drive->device.ops = &held_ops;
	drive_accounting_start(h->drive, h->state_dir, cartridge);
	h->job = (struct job){.kind = JOB_TAPE_OP, .op = MTNOP, .op_count = 1};
	h->job.device = &h->drive->device;
	h->job.done = job_done;
	h->job.arg = &h->call_done;
	worker_submit(h->drive->worker, &h->job);
	return h->drive;
}

/* The device call returns; the loop runs until the thread has done all it was given. */
static void held_let_go(struct held *h)
{
	cr_assert_eq(write(hold_pipe[1], "x", 1), 1);
	for (int i = 0;
	     i < 500 && (!h->call_done || h->drive->saves_out > 0 || worker_busy(h->drive->worker));
	     i++) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(2000);
	}
	cr_assert(h->call_done);
	cr_assert_eq(h->drive->saves_out, 0);
	cr_assert_not(worker_busy(h->drive->worker));
}

/* Released, the drive is freed once its saves are done; the state directory goes. */
static void held_end(struct held *h)
{
	char command[64];

	h->drive->device.ops = NULL;
	drive_release(&drives, h->drive, &h->holder);
	cr_assert_eq(drive_count_known(&drives), 0, "freed once its saves are done");
	close(hold_pipe[0]);
	close(hold_pipe[1]);
	snprintf(command, sizeof(command), "rm -rf '%s'", h->state_dir);
	cr_assert_eq(system(command), 0);
}

Test(drive, saves_run_on_the_drive_s_thread_after_the_call_in_flight)
{
	struct held h;
	struct drive *drive = held_start(&h, "/spool/d.tap", "cart-d");

	/* The loop asks for a save while the thread is in a device call: it returns at once. */
	drive_accounting_save(drive);
	cr_assert_eq(drive->saves_out, 1);
	cr_assert_eq(saved_mounts(h.state_dir, drive->name), 0, "saved on the loop");
	held_let_go(&h);
	cr_assert_eq(saved_mounts(h.state_dir, drive->name), 1);

	/* Stopping saves and lets the cartridge go, on the thread as well. */
	drive_accounting_stop(drive);
	held_let_go(&h);
	cr_assert_not(drive->has_cartridge);
	cr_assert_eq(drive->state_directory[0], '\0');
	held_end(&h);
}

/*
 * A filemark's save, then the close's stop, while the thread is still in a call:
 * both wait their turn there, none runs on the loop beside the other, and the
 * loop's view of the cartridge (rmtctl status reads it) holds until the stop is
 * done. Before, the stop ran at once on the loop, beside the thread's save.
 */
Test(drive, a_stop_asked_for_while_a_save_is_out_follows_it_on_the_thread)
{
	struct held h;
	struct drive *drive = held_start(&h, "/spool/e.tap", "cart-e");
	struct drive_view view;

	drive_accounting_save(drive);
	drive_accounting_stop(drive);
	cr_assert_eq(drive->saves_out, 2);
	cr_assert_eq(saved_mounts(h.state_dir, drive->name), 0, "saved on the loop");
	drive_view(drive, &view);
	cr_assert_str_eq(view.cartridge, "cart-e", "the cartridge left before its stop was done");

	held_let_go(&h);
	cr_assert_eq(saved_mounts(h.state_dir, drive->name), 1);
	cr_assert_not(drive->has_cartridge);
	cr_assert_eq(drive->state_directory[0], '\0');
	drive_view(drive, &view);
	cr_assert_str_eq(view.cartridge, "");
	held_end(&h);
}

/* Mounts saved for a cartridge so far. */
static uint64_t saved_cartridge_mounts(const char *state_dir, const char *cartridge)
{
	struct counters saved;

	cr_assert_eq(counters_load(state_dir, COUNTERS_CARTRIDGE, cartridge, &saved), 0);
	return saved.totals.mounts;
}

Test(drive, a_cartridge_switch_saves_the_old_one_on_the_drive_s_thread)
{
	struct held h;
	struct drive *drive = held_start(&h, "/lib/lib0d0", "cart-a");

	/* A library loaded cart-b while the thread is in a device call. */
	drive_accounting_follow(drive, "cart-b");
	cr_assert(drive->has_cartridge);
	cr_assert_str_eq(drive->cartridge_counters.name, "cart-b");
	cr_assert_eq(saved_cartridge_mounts(h.state_dir, "cart-a"), 0, "saved on the loop");
	held_let_go(&h);
	cr_assert_eq(saved_cartridge_mounts(h.state_dir, "cart-a"), 1,
	             "the old cartridge's save was lost");

	drive_accounting_stop(drive);
	held_let_go(&h);
	cr_assert_eq(saved_cartridge_mounts(h.state_dir, "cart-b"), 0, "cart-b was never mounted");
	cr_assert_not(drive->has_cartridge);
	held_end(&h);
}
