/*
 * main.c - rmtd's modes and signals.
 *
 * stdio mode is what rsh and ssh start (argv[0] "rmt", or `rmtd --stdio`): one
 * client on stdin/stdout, device calls inline. The daemon serves TCP listeners
 * (and inetd's one socket) from one event loop, device calls on a thread per drive.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "rmt/protocol.h"
#include "config.h"
#include "library_runtime.h"
#include "config_reader.h"
#include "control.h"
#include "drive.h"
#include "escape.h"
#include "server.h"
#include "log.h"
#include "number.h"
#include "options.h"
#include "path.h"
#include "sandbox.h"
#include "serve.h"
#include "session.h"
#include "tls.h"
#include "status.h"
#include "transport.h"

/* ---------------------------------------------------------------- stdio mode */

/* Once, as rmtd starts: how names below the allowed directories will be opened. */
static void note_open_beneath(void)
{
	if (!path_openat2_available())
		log_warnx("openat2 is not available (a kernel before 5.6, or a seccomp profile): "
		          "names below allowed directories are opened a component at a time, "
		          "each with O_NOFOLLOW");
}

static void stdio_identity(char *user, size_t user_size, char *peer, size_t peer_size)
{
	const struct passwd *pw = getpwuid(getuid());
	const char *ssh = getenv("SSH_CONNECTION");

	snprintf(user, user_size, "%s", pw ? pw->pw_name : "unknown");
	if (ssh != NULL && *ssh != '\0') {
		size_t n = strcspn(ssh, " ");

		if (n >= peer_size)
			n = peer_size - 1;
		memcpy(peer, ssh, n);
		peer[n] = '\0';
	} else {
		snprintf(peer, peer_size, "local");
	}
}

/*
 * ssh gives us pipes of 64 KiB: a 1 MiB record then crosses in 16 pieces, each a
 * wake-up of both ends. A pipe as large as a big record saves most of them.
 */
static void stdio_grow_pipes(void)
{
	static const int fds[] = {STDIN_FILENO, STDOUT_FILENO};
	struct stat st;

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fstat(fds[i], &st) == 0 && S_ISFIFO(st.st_mode) &&
		    fcntl(fds[i], F_SETPIPE_SZ, 1024 * 1024) < 0)
			log_debug("cannot grow pipe %d: %s", fds[i], strerror(errno));
}

/* fd_transport_serve returns by itself when the client is done: nothing to stop. */
static void stdio_finished(struct fd_transport *transport, const char *why, void *arg)
{
}

static volatile sig_atomic_t stdio_stop;
static struct serve stdio_serve;

/* SIGTERM, SIGHUP, SIGINT: the serve loop finishes the request, closes the device, ends. */
static void stdio_terminate(int signal_number)
{
	stdio_stop = signal_number;
	serve_command(&stdio_serve, SERVE_SHUTDOWN);
}

/* SIGALRM only interrupts a blocking open, so that the watch below can look around. */
static void stdio_tick(int signal_number)
{
}

static void stdio_watch_begin(void)
{
	struct itimerval tick = {.it_interval = {1, 0}, .it_value = {1, 0}};

	setitimer(ITIMER_REAL, &tick, NULL);
}

static void stdio_watch_end(void)
{
	struct itimerval off = {0};

	setitimer(ITIMER_REAL, &off, NULL);
}

/*
 * Nobody will read our answer: standard output's reader is gone, or standard
 * input has ended with nothing left in it (rsh and ssh close both when the
 * client goes).
 */
static bool stdio_client_gone(void)
{
	struct pollfd fds[2] = {
	    {.fd = STDIN_FILENO, .events = POLLIN | POLLRDHUP},
	    {.fd = STDOUT_FILENO, .events = 0},
	};
	char byte;

	if (poll(fds, 2, 0) <= 0)
		return false;
	if (fds[1].revents & (POLLERR | POLLHUP | POLLNVAL))
		return true;
	if (fds[0].revents & (POLLERR | POLLNVAL))
		return true;
	if ((fds[0].revents & POLLHUP) && !(fds[0].revents & POLLIN))
		return true; /* a pipe whose writer has gone, drained */
	return (fds[0].revents & POLLRDHUP) &&
	       recv(STDIN_FILENO, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* A blocking open gives up when we are told to end or the client has gone. */
static int stdio_watch_interrupted(void)
{
	if (stdio_stop)
		return ESHUTDOWN;
	return stdio_client_gone() ? ECONNRESET : 0;
}

static const struct path_open_watch stdio_open_watch = {
    .begin = stdio_watch_begin,
    .interrupted = stdio_watch_interrupted,
    .end = stdio_watch_end,
};

static int run_stdio(const struct options *o, struct config *config)
{
	struct session_settings settings;
	struct server_limits limits;
	struct drive_registry drives;
	struct fd_transport *transport;
	static const int signal_numbers[] = {SIGTERM, SIGHUP, SIGINT};
	char user[64], peer[128];
	const char *ssh_command = getenv("SSH_ORIGINAL_COMMAND");
	char shown[4 * 60 + 1];
	int drive_wait;

	if (ssh_command != NULL)
		log_info(
		    "ssh asked for \"%s\"; serving rmt",
		    escape_bytes(shown, sizeof(shown), ssh_command, strnlen(ssh_command, 60), 0));
	if (o->ignored_arguments > 0)
		log_warnx("ignoring %d argument(s): rmtd takes no debug file name",
		          o->ignored_arguments);
	options_limits(o, config, &limits, &drive_wait);
	/* No event base: one session never waits for its drive (wait 0), and no worker thread. */
	drive_registry_init(&drives, NULL, false, 0);
	stdio_identity(user, sizeof(user), peer, sizeof(peer));
	stdio_grow_pipes();

	memset(&settings, 0, sizeof(settings));
	settings.config = config;
	settings.drives = &drives;
	settings.max_record = limits.max_record;
	/* Room for a 10 KiB tar record and its header, so it is written in place. */
	settings.input_buffer_size = 256 * 1024;
	settings.input_open_size = settings.input_buffer_size;
	settings.peer = peer;
	settings.identity = user;
	settings.who.user = user;
	settings.who.peer = peer;

	/*
	 * No event base: the serve loop serves stdio. No deadlines, as ever in this
	 * mode: ssh and rsh end the session with the client, and polling for them
	 * would cost a system call per request.
	 */
	if (serve_init(&stdio_serve, &(struct serve_limits){0}) < 0)
		fatal("cannot create the serve loop's command descriptor");
	stdio_serve.signal_wakes = true;
	transport =
	    fd_transport_create(NULL, STDIN_FILENO, STDOUT_FILENO, &settings, stdio_finished, NULL);
	if (transport == NULL)
		fatalx("cannot set up standard input and output");
	/* Each process reads the libraries' database when it starts, and saves each change. */
	if (libraries_start(config, o->state_directory != NULL ? o->state_directory
	                                                       : config->state_directory) < 0)
		fatalx("cannot start the tape libraries");
	note_open_beneath();
	/* One client, one process: it never needs more of the filesystem than the rules name. */
	if (sandbox_restrict_filesystem(config) < 0 || sandbox_restrict_system_calls() < 0)
		fatalx("cannot confine rmtd");
	for (size_t i = 0; i < 3; i++) {
		/* No SA_RESTART: a blocked read returns EINTR and the loop sees the signal. */
		struct sigaction action = {.sa_handler = stdio_terminate};

		sigemptyset(&action.sa_mask);
		sigaction(signal_numbers[i], &action, NULL);
	}
	{
		struct sigaction tick = {.sa_handler = stdio_tick};

		sigemptyset(&tick.sa_mask);
		sigaction(SIGALRM, &tick, NULL);
		path_set_open_watch(&stdio_open_watch);
	}

	serve_run(&stdio_serve, transport);
	if (stdio_stop)
		log_info("signal %d: the device is closed; ending", (int)stdio_stop);

	fd_transport_free(transport);
	serve_destroy(&stdio_serve);
	drive_registry_free(&drives);
	libraries_stop();
	return 0;
}

/* ---------------------------------------------------------------- daemon and inetd */

struct daemon_state {
	struct tls_context *tls; /* for TLS listeners; lives as long as the daemon */
	const struct options *options;
	struct server *server;
	struct drive_registry *drives;
	struct config *config;
	struct status_monitor *status;
	struct control *control;
	struct config_reader *reader; /* SIGHUP's configuration file, past Landlock */
	struct event *stop_timer;     /* SIGTERM's grace: first the sessions, then the devices */
	int stop_phase;               /* 0 before SIGTERM, 1 during the grace, 2 once cut */
	bool stop_now;                /* the grace for devices is over too: exit */
};

/* The command line's value, else the configuration file's (""), else NULL. */
static const char *pick_text(const char *command_line, const char *file)
{
	return command_line != NULL ? command_line : file[0] != '\0' ? file : NULL;
}

/* A directory the daemon writes in once it runs as owner: made now, and made owner's. */
static void make_directory(const char *path, mode_t mode, uid_t owner, const char *what)
{
	if (path == NULL)
		return;
	if (mkdir(path, mode) == 0) {
		if (owner != geteuid() && chown(path, owner, (gid_t)-1) < 0)
			fatal("%s %s", what, path);
	} else if (errno != EEXIST) {
		fatal("%s %s", what, path);
	}
}

/* The operator's view: status files and the control socket (rmtctl, control.h). */
static void start_operations(struct daemon_state *state, struct event_base *base,
                             const struct options *o)
{
	const struct config *c = state->config;
	const char *group = pick_text(o->control_group, c->control_group);
	struct status_options status = {
	    .directory = pick_text(o->status_directory, c->status_directory),
	    .interval = o->status_interval > 0 ? o->status_interval : STATUS_INTERVAL_DEFAULT,
	    .policy = &c->policy,
	    /* One per host: an inetd instance serves one client and would overwrite it. */
	    .metrics = o->mode == MODE_DAEMON,
	};
	struct control_options control = {
	    .path = pick_text(o->control_socket, c->control_socket),
	    .mode = (mode_t)(o->control_mode >= 0   ? o->control_mode
	                     : c->control_mode >= 0 ? c->control_mode
	                                            : CONTROL_MODE_DEFAULT),
	    .group = (gid_t)-1,
	    .state_directory = pick_text(o->state_directory, c->state_directory),
	    .owner = sandbox_run_uid(c->user),
	};

	/*
	 * Landlock allows only what exists when the door shuts: make the state and status
	 * directories now, as the user the daemon will run as.
	 */
	make_directory(control.state_directory, 0750, control.owner, "state directory");
	make_directory(status.directory, 0755, control.owner, "status directory");
	if (libraries_start(c, control.state_directory) < 0)
		fatalx("cannot start the tape libraries");
	state->status = status_monitor_create(base, state->server, state->drives, &status);
	if (state->status == NULL)
		fatalx("cannot start the status monitor");
	if (group != NULL) {
		const struct group *gr = getgrnam(group);
		int64_t gid = 0;

		if (gr == NULL &&
		    (*group == '-' || decimal_parse_range(group, 0, UINT32_MAX - 1, &gid) < 0))
			fatalx("control group %s: no such group", group);
		control.group = gr ? gr->gr_gid : (gid_t)gid;
	}
	bool chosen = control.path != NULL;

	/* The default socket is root's; an inetd instance serves one client and has none. */
	if (!chosen && o->mode == MODE_DAEMON && geteuid() == 0)
		control.path = RMT_DEFAULT_CONTROL_SOCKET;
	if (control.path == NULL || control.path[0] == '\0' || o->mode != MODE_DAEMON)
		return;
	state->control = control_create(base, state->status, &control);
	if (state->control == NULL && chosen)
		fatalx("cannot create the control socket %s", control.path);
	/* Named in the configuration, the socket may still be removed once sandboxed. */
	if (state->control != NULL && control.path != state->config->control_socket)
		strlcpy(state->config->control_socket, control.path,
		        sizeof(state->config->control_socket));
}

struct session_ids {
	unsigned *ids;
	size_t count, capacity;
};

static void collect_session_id(struct session *session, void *arg)
{
	struct session_ids *list = arg;
	struct session_activity activity;

	if (list->count == list->capacity) {
		size_t capacity = list->capacity ? list->capacity * 2 : 64;
		unsigned *grown = reallocarray(list->ids, capacity, sizeof(*grown));

		if (grown == NULL)
			return;
		list->ids = grown;
		list->capacity = capacity;
	}
	session_activity(session, &activity);
	list->ids[list->count++] = activity.id;
}

struct session_by_id {
	unsigned id;
	struct session *found;
};

static void find_session(struct session *session, void *arg)
{
	struct session_by_id *wanted = arg;
	struct session_activity activity;

	session_activity(session, &activity);
	if (activity.id == wanted->id)
		wanted->found = session;
}

/*
 * The grace after SIGTERM is over. First every session still there is ended:
 * its client is told why, a half-sent record is dropped, its device closed.
 * One more grace period later the daemon exits whatever device calls are still
 * in flight; their drives are named in the log as abandoned.
 */
static void daemon_stop_timer(evutil_socket_t fd, short what, void *arg)
{
	struct daemon_state *state = arg;
	struct timeval grace = {state->drives->stop_grace, 0};
	struct session_ids list = {0};

	if (state->stop_phase == 2) {
		log_warnx("shutting down: device calls still in progress %d s after the sessions "
		          "were ended; exiting without them",
		          state->drives->stop_grace);
		state->stop_now = true;
		event_base_loopbreak(event_get_base(state->stop_timer));
		return;
	}
	state->stop_phase = 2;
	server_foreach_session(state->server, collect_session_id, &list);
	log_warnx("shutting down: %zu session(s) not finished after %d s; ending them", list.count,
	          state->drives->stop_grace);
	/* One at a time, looked up again: ending one may end or free others. */
	for (size_t i = 0; i < list.count; i++) {
		struct session_by_id wanted = {.id = list.ids[i]};

		server_foreach_session(state->server, find_session, &wanted);
		if (wanted.found != NULL)
			session_cut(wanted.found, ESHUTDOWN, "rmtd shutting down",
			            "server shutting down", false);
	}
	free(list.ids);
	evtimer_add(state->stop_timer, &grace);
}

static void daemon_terminate(evutil_socket_t signal_number, short what, void *arg)
{
	struct daemon_state *state = arg;
	struct timeval grace = {state->drives->stop_grace, 0};

	if (state->stop_phase != 0)
		return;
	state->stop_phase = 1;
	log_info("signal %d: finishing every session (at most %d s), then exiting",
	         (int)signal_number, state->drives->stop_grace);
	evtimer_add(state->stop_timer, &grace);
	server_shutdown(state->server);
}

/* SIGHUP: a new configuration for new sessions; running ones keep theirs. */
static void daemon_reload(evutil_socket_t signal_number, short what, void *arg)
{
	struct daemon_state *state = arg;
	struct server_limits limits;
	struct config *config;
	const char *file;
	char error[600];
	int drive_wait, config_fd = -1;

	file = options_config_file(state->options);
	if (file != NULL && state->reader != NULL) {
		config_fd = config_reader_open(state->reader);
		if (config_fd < 0) {
			log_warnx("SIGHUP: configuration not reloaded: %s: %s", file,
			          strerror(-config_fd));
			return;
		}
	}
	config = options_configure_from(state->options, config_fd, error, sizeof(error));
	if (config == NULL) {
		log_warnx("SIGHUP: configuration not reloaded: %s", error);
		return;
	}
	/* A new CA, CRL, certificate or key counts from the next handshake on. */
	if (state->tls != NULL) {
		struct tls_context *tls = tls_context_create(config, error, sizeof(error));

		if (tls == NULL) {
			log_warnx("SIGHUP: configuration not reloaded, TLS: %s", error);
			config_release(config);
			return;
		}
		server_set_tls(state->server, tls);
		tls_context_free(state->tls); /* running TLS sessions hold their own reference */
		state->tls = tls;
	}
	options_limits(state->options, config, &limits, &drive_wait);
	server_reconfigure(state->server, config, &limits);
	state->drives->wait_seconds = drive_wait;
	options_drive_timing(state->options, config, &state->drives->hold_seconds,
	                     &state->drives->stop_grace);
	libraries_reload(config);
	config_release(state->config);
	state->config = config;
	log_notice("SIGHUP: configuration reloaded (%s)",
	           config->path[0] ? config->path : "command line only");
}

static void daemon_listen(struct daemon_state *state, const struct options *o)
{
	int adopted = server_adopt_systemd_sockets(state->server);
	int listening = 0;

	if (adopted < 0)
		fatalx("cannot use the sockets systemd passed");
	for (int i = 0; i < state->config->listen_count; i++) {
		const struct listen_spec *spec = &state->config->listens[i];

		if (spec->tls) {
			if (state->tls == NULL) {
				char error[400];

				state->tls =
				    tls_context_create(state->config, error, sizeof(error));
				if (state->tls == NULL)
					fatalx("TLS: %s", error);
			}
			if (server_listen_tls(state->server, spec->address, state->tls) < 0)
				fatalx("cannot listen on %s", spec->address);
		} else if ((spec->trusted_plaintext
		                ? server_listen_trusted(state->server, spec->address)
		                : server_listen(state->server, spec->address)) < 0) {
			fatalx("cannot listen on %s", spec->address);
		}
		listening++;
	}
	for (int i = 0; i < o->listen_count; i++) {
		if (server_listen(state->server, o->listen[i]) < 0)
			fatalx("cannot listen on %s", o->listen[i]);
		listening++;
	}
	if (listening == 0 && adopted == 0) {
		char v4[32], v6[32];

		snprintf(v4, sizeof(v4), "127.0.0.1:%d", RMT_DEFAULT_TCP_PORT);
		snprintf(v6, sizeof(v6), "[::1]:%d", RMT_DEFAULT_TCP_PORT);
		if (server_listen(state->server, v4) < 0)
			fatalx("cannot listen on %s", v4);
		if (server_listen(state->server, v6) < 0)
			log_warnx("no IPv6 loopback; listening on %s only", v4);
	}
}

static int run_daemon(const struct options *o, struct config *config)
{
	struct daemon_state state = {.options = o, .config = config_hold(config)};
	struct server_limits limits;
	struct drive_registry drives;
	struct event_base *base;
	struct event *term, *intr, *hup;
	bool systemd = getenv("LISTEN_FDS") != NULL || getenv("NOTIFY_SOCKET") != NULL;
	int drive_wait;

	base = event_base_new();
	if (base == NULL)
		fatalx("cannot create the event loop");
	options_limits(o, config, &limits, &drive_wait);
	drive_registry_init(&drives, base, true, drive_wait);
	options_drive_timing(o, config, &drives.hold_seconds, &drives.stop_grace);
	state.drives = &drives;
	state.stop_timer = evtimer_new(base, daemon_stop_timer, &state);
	if (state.stop_timer == NULL)
		fatalx("cannot create the event loop");
	state.server = server_create(base, &drives, config, &limits);
	if (state.server == NULL)
		fatalx("cannot create the server");

	if (o->mode == MODE_INETD) {
		if (server_serve_connection(state.server, STDIN_FILENO) < 0)
			fatalx("cannot serve the connection on standard input");
		server_exit_when_idle(state.server);
	} else {
		daemon_listen(&state, o);
		server_start(state.server);
	}
	start_operations(&state, base, o);
	/*
	 * Into the background only now that the sockets listen: when the command
	 * returns, clients can connect. No thread exists yet (a fork keeps none);
	 * the loop's kernel state is remade for the child.
	 */
	if (o->mode == MODE_DAEMON && !o->foreground && !systemd &&
	    (daemon(0, 0) < 0 || event_reinit(base) < 0))
		fatal("daemon");
	/* Everything that needed privileges is open or bound: give them up for good. */
	if (sandbox_drop_privileges(config->user, config->group) < 0)
		fatalx("cannot drop privileges");
	/* Forked before the sandbox: it keeps the right to read the configuration's directory. */
	if (o->mode == MODE_DAEMON) {
		state.reader = config_reader_start(o->config_file != NULL ? o->config_file
		                                                          : CONFIG_DEFAULT_PATH);
		if (state.reader == NULL)
			fatalx("cannot start the configuration reader");
	}
	note_open_beneath();
	if (sandbox_restrict_filesystem(config) < 0 || sandbox_restrict_system_calls() < 0)
		fatalx("cannot confine the daemon");
	if (o->mode != MODE_INETD)
		server_notify_systemd("READY=1");
	term = evsignal_new(base, SIGTERM, daemon_terminate, &state);
	intr = evsignal_new(base, SIGINT, daemon_terminate, &state);
	hup = evsignal_new(base, SIGHUP, daemon_reload, &state);
	event_add(term, NULL);
	event_add(intr, NULL);
	event_add(hup, NULL);

	while (!server_finished(state.server) && !state.stop_now)
		if (event_base_dispatch(base) != 0)
			break;

	server_notify_systemd("STOPPING=1");
	event_free(term);
	event_free(intr);
	event_free(hup);
	config_reader_stop(state.reader);
	event_free(state.stop_timer);
	control_free(state.control);
	status_monitor_free(state.status);
	server_free(state.server);
	tls_context_free(state.tls);
	drive_registry_free(&drives);
	/* After the drives: a library drive's close still reaches its library. */
	libraries_stop();
	event_base_free(base);
	config_release(state.config);
	log_info("exiting");
	return 0;
}

/*
 * -n: what start would refuse, short of binding and creating: the user and
 * groups to become, and the TLS files loaded as a TLS listener loads them.
 */
static bool check_start(const struct options *o, const struct config *config)
{
	const char *control_group = pick_text(o->control_group, config->control_group);
	bool ok = true, tls = false;

	/* stdio mode runs as the ssh user, with no control socket and no listener. */
	if (o->mode == MODE_STDIO)
		return true;
	if (config->user[0] != '\0' && getpwnam(config->user) == NULL) {
		log_warnx("user %s: no such user", config->user);
		ok = false;
	}
	if (config->group[0] != '\0' && getgrnam(config->group) == NULL) {
		log_warnx("group %s: no such group", config->group);
		ok = false;
	}
	if (control_group != NULL && getgrnam(control_group) == NULL) {
		int64_t gid;

		if (*control_group == '-' ||
		    decimal_parse_range(control_group, 0, UINT32_MAX - 1, &gid) < 0) {
			log_warnx("control group %s: no such group", control_group);
			ok = false;
		}
	}
	for (int i = 0; i < config->listen_count; i++)
		tls |= config->listens[i].tls;
	if (tls) {
		char error[400];
		struct tls_context *context = tls_context_create(config, error, sizeof(error));

		if (context == NULL) {
			log_warnx("TLS: %s", error);
			ok = false;
		}
		tls_context_free(context);
	}
	return ok;
}

int main(int argc, char **argv)
{
	struct options o;
	struct config *config;
	char error[600];
	int rc = 0;

	options_parse(argc, argv, &o);
	/* Files clients create are never writable by others, whatever umask we inherited. */
	umask(umask(0) | 022);
	log_init("rmtd", o.foreground || o.check_only, o.verbosity);
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() < 0)
		fatalx("libevent has no thread support");

	config = options_configure(&o, error, sizeof(error));
	if (config == NULL)
		fatalx("%s", error);
	if (o.check_only) {
		if (!check_start(&o, config)) {
			config_release(config);
			return 1;
		}
		printf("rmtd: configuration OK%s%s\n", config->path[0] ? ": " : "", config->path);
		config_release(config);
		return 0;
	}
	switch (o.mode) {
	case MODE_STDIO:
		rc = run_stdio(&o, config);
		break;
	case MODE_INETD:
	case MODE_DAEMON:
		rc = run_daemon(&o, config);
		break;
	}
	config_release(config);
	return rc;
}
