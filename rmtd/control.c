/*
 * control.c - the control socket behind rmtctl (protocol in control.h).
 *
 * Connections live on the event loop as bufferevents: one request line in,
 * one reply out, then the connection is closed once the reply has left. State
 * comes from the status monitor (status.c); a kill goes to session_abort().
 * Catalogs are files, possibly large: they are read and formatted on a thread
 * so that the loop keeps serving tape clients meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "catalog.h"
#include "control.h"
#include "control_report.h"
#include "control_library.h"
#include "counters.h"
#include "log.h"
#include "metrics.h"
#include "session.h"
#include "status.h"
#include "status_format.h"

/* ---------------------------------------------------------------- the socket */

struct file_job;

struct control_connection {
	TAILQ_ENTRY(control_connection) entry;
	struct control *control;
	struct bufferevent *bev;
	uid_t uid;
	pid_t pid;
	bool denied; /* not allowed: its request is read, then refused */
	bool answered;
	bool lingering;       /* answered and shut down: what the client still sends is dropped */
	struct file_job *job; /* state files being read for this connection */
};

/* A drive as a drives job keeps it: the thread must not look at the live registry. */
struct drive_copy {
	char name[PATH_MAX];
	char alias[64];
	char cartridge[CONTROL_NAME_MAX];
	struct status_drive drive; /* name and alias point above */
};

/*
 * A request that reads state files (catalogs, counters) runs on its own thread;
 * the loop picks the result up in file_job_done.
 */
struct file_job {
	TAILQ_ENTRY(file_job) entry;
	struct control *control;
	struct control_connection *connection; /* NULL once the client has gone */
	struct event *done;
	pthread_t thread;
	char *state_directory;
	char *candidates[6];
	size_t count;
	struct drive_copy *drives; /* a drives request: what the registry said */
	size_t drive_count;
	bool json;
	int result;
	char *body;
	size_t length;
	char next[300];        /* a library cartridge: which one a restore loads next */
	char *library_barcode; /* catalog: the name, looked up as a library's cartridge */
	bool library_next;     /* and the "continues on" line wanted */
	char *library_request; /* a library command (control_library.h) */
	size_t library_length;
	uid_t uid;
	pid_t pid;
	const char *error_code; /* its refusal */
	char error_message[300];
};

struct control {
	struct event_base *base;
	struct status_monitor *monitor;
	struct evconnlistener *listener;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	gid_t group;
	char *state_directory;
	TAILQ_HEAD(, control_connection) connections;
	int connection_count;
	TAILQ_HEAD(, file_job) jobs;
};

static void control_connection_free(struct control_connection *c)
{
	struct control *control = c->control;

	if (c->job != NULL)
		c->job->connection = NULL; /* the job finishes and is dropped */
	TAILQ_REMOVE(&control->connections, c, entry);
	control->connection_count--;
	bufferevent_free(c->bev);
	free(c);
}

/*
 * The answer is out: our side is shut and the client's rest is read until it
 * closes too (within the timeouts). Closed at once, the socket would reset a
 * client still sending a line too long, and take our answer with it.
 */
static void connection_written(struct bufferevent *bev, void *arg)
{
	struct control_connection *c = arg;
	struct evbuffer *input = bufferevent_get_input(bev);

	if (!c->answered || c->lingering || evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	c->lingering = true;
	shutdown(bufferevent_getfd(bev), SHUT_WR);
	evbuffer_drain(input, evbuffer_get_length(input));
	bufferevent_enable(bev, EV_READ);
}

static void answer_error(struct control_connection *c, const char *code, const char *message)
{
	c->answered = true;
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_add_printf(bufferevent_get_output(c->bev), "ERR %s %s\n", code, message);
}

static void answer_body(struct control_connection *c, struct evbuffer *body)
{
	struct evbuffer *output = bufferevent_get_output(c->bev);

	c->answered = true;
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_add_printf(output, "OK %zu\n", evbuffer_get_length(body));
	evbuffer_add_buffer(output, body);
}

static const char help_text[] =
    "status [--json]          drives and sessions, one line each\n"
    "session [--json] ID      one session\n"
    "drives [--json]          every drive known\n"
    "kill ID                  abort a session at its next request boundary\n"
    "release DRIVE            take a drive back from the session holding it\n"
    "catalog [--json] [NAME]  the catalog of a drive's or a named cartridge\n"
    "metrics                  drives and counters in the Prometheus text format\n"
    "inventory [--json] [LIBRARY]   drives, slots and portals of the tape libraries\n"
    "cartridges [--json] [CARTRIDGE] the cartridge database and which one follows which\n"
    "load CARTRIDGE|slot:N DRIVE, unload DRIVE [slot:N], move LIBRARY FROM TO,\n"
    "import LIBRARY [portal:N], export CARTRIDGE, readonly CARTRIDGE on|off\n"
    "help                     this text\n";

static int add_candidate(struct file_job *job, const char *name);

/*
 * A library's cartridge by its barcode (control_library.h), second after the
 * name itself. Here on the job's thread: the library's lock may wait for a
 * changer's move or another rmtd process.
 */
static int library_candidate(struct file_job *job)
{
	char path[PATH_MAX];
	size_t before = job->count;
	int error = 0;

	if (job->library_barcode == NULL)
		return 0;
	if (control_library_catalog_name(job->library_barcode, path, sizeof(path)) == 0 &&
	    (error = add_candidate(job, path)) == 0 && job->count > before && before > 1) {
		char *added = job->candidates[before];

		memmove(job->candidates + 2, job->candidates + 1,
		        (before - 1) * sizeof(job->candidates[0]));
		job->candidates[1] = added;
	}
	if (job->library_next)
		control_library_next_line(job->library_barcode, job->next, sizeof(job->next));
	return error;
}

static void *file_job_thread(void *arg)
{
	struct file_job *job = arg;

	if (job->library_request != NULL) {
		job->result = control_library_request(
		    job->library_request, job->library_length, job->uid, job->pid, &job->body,
		    &job->length, &job->error_code, job->error_message, sizeof(job->error_message));
	} else if (job->drives != NULL) {
		struct status_drive *drives = calloc(job->drive_count + 1, sizeof(*drives));

		for (size_t i = 0; drives != NULL && i < job->drive_count; i++)
			drives[i] = job->drives[i].drive;
		job->result = drives == NULL ? -ENOMEM
		                             : control_drives_body(job->state_directory, drives,
		                                                   job->drive_count, job->json,
		                                                   &job->body, &job->length);
		free(drives);
	} else {
		job->result = library_candidate(job);
		if (job->result == 0)
			job->result = control_catalog_body(
			    job->state_directory, (const char *const *)job->candidates, job->count,
			    job->json, &job->body, &job->length);
	}
	event_active(job->done, EV_READ, 0);
	return NULL;
}

static void file_job_free(struct file_job *job)
{
	TAILQ_REMOVE(&job->control->jobs, job, entry);
	if (job->done != NULL)
		event_free(job->done);
	free(job->state_directory);
	for (size_t i = 0; i < job->count; i++)
		free(job->candidates[i]);
	free(job->drives);
	free(job->body);
	free(job->library_request);
	free(job->library_barcode);
	free(job);
}

static void file_job_done(evutil_socket_t fd, short what, void *arg)
{
	struct file_job *job = arg;
	struct control_connection *c = job->connection;

	pthread_join(job->thread, NULL);
	if (c != NULL) {
		c->job = NULL;
		if (job->library_request != NULL && job->result < 0) {
			answer_error(c, job->error_code, job->error_message);
		} else if (job->result == 0) {
			struct evbuffer *body = evbuffer_new();

			if (body != NULL && evbuffer_add(body, job->body, job->length) == 0 &&
			    evbuffer_add(body, job->next, strlen(job->next)) == 0)
				answer_body(c, body);
			else
				answer_error(c, CONTROL_ERR_INTERNAL, "out of memory");
			if (body != NULL)
				evbuffer_free(body);
		} else if (job->result == -ENOENT && job->drives == NULL) {
			answer_error(c, CONTROL_ERR_NOTFOUND,
			             "no catalog for that drive or cartridge");
		} else {
			char message[160];

			snprintf(message, sizeof(message), "cannot read the %s: %s",
			         job->drives ? "counters" : "catalog", strerror(-job->result));
			answer_error(c, CONTROL_ERR_INTERNAL, message);
		}
	}
	file_job_free(job);
}

static int file_job_start(struct file_job *job)
{
	int error;

	job->done = event_new(job->control->base, -1, 0, file_job_done, job);
	if (job->done == NULL)
		return -ENOMEM;
	error = pthread_create(&job->thread, NULL, file_job_thread, job);
	if (error != 0)
		return -error;
	job->connection->job = job;
	return 0;
}

static int add_candidate(struct file_job *job, const char *name)
{
	for (size_t i = 0; i < job->count; i++)
		if (strcmp(job->candidates[i], name) == 0)
			return 0;
	if (job->count >= sizeof(job->candidates) / sizeof(job->candidates[0]))
		return 0;
	if ((job->candidates[job->count] = strdup(name)) == NULL)
		return -ENOMEM;
	job->count++;
	return 0;
}

/* A job reading state files for c, listed with the control; NULL (and the answer sent) if not. */
static struct file_job *file_job_new(struct control_connection *c,
                                     const struct control_request *request)
{
	struct file_job *job = calloc(1, sizeof(*job));

	if (job == NULL) {
		answer_error(c, CONTROL_ERR_INTERNAL, "out of memory");
		return NULL;
	}
	job->control = c->control;
	job->connection = c;
	job->json = request->json;
	TAILQ_INSERT_TAIL(&c->control->jobs, job, entry);
	job->state_directory = strdup(c->control->state_directory);
	return job;
}

static void handle_library(struct control_connection *c, const char *line, size_t length)
{
	struct file_job *job = calloc(1, sizeof(*job));

	if (job == NULL || (job->library_request = malloc(length + 1)) == NULL) {
		free(job);
		answer_error(c, CONTROL_ERR_INTERNAL, "out of memory");
		return;
	}
	memcpy(job->library_request, line, length);
	job->library_request[length] = '\0';
	job->library_length = length;
	job->uid = c->uid;
	job->pid = c->pid;
	job->control = c->control;
	job->connection = c;
	TAILQ_INSERT_TAIL(&c->control->jobs, job, entry);
	if (file_job_start(job) == 0)
		return;
	file_job_free(job);
	answer_error(c, CONTROL_ERR_INTERNAL, "cannot start the library command");
}

static void handle_catalog(struct control_connection *c, const struct control_request *request)
{
	struct control *control = c->control;
	struct file_job *job;
	struct status_snapshot snapshot;
	int error = 0;

	if (control->state_directory == NULL) {
		answer_error(c, CONTROL_ERR_UNAVAILABLE, "no state directory is configured");
		return;
	}
	job = file_job_new(c, request);
	if (job == NULL)
		return;
	if (job->state_directory == NULL)
		error = -ENOMEM;
	if (error == 0 && request->has_name) {
		/* The name as a cartridge first; a drive's name means the cartridge in it. */
		error = add_candidate(job, request->name);
		/* As a library's cartridge too: looked up on the job's thread. */
		if (error == 0 && (job->library_barcode = strdup(request->name)) == NULL)
			error = -ENOMEM;
		job->library_next = !request->json;
		if (error == 0 && status_monitor_snapshot(control->monitor, &snapshot) == 0) {
			for (size_t i = 0; error == 0 && i < snapshot.drive_count; i++) {
				const struct status_drive *d = &snapshot.drives[i];

				if (strcmp(d->name, request->name) != 0 &&
				    (d->alias == NULL || strcmp(d->alias, request->name) != 0))
					continue;
				/* The cartridge in the drive, else a virtual tape's own name. */
				if (d->cartridge != NULL)
					error = add_candidate(job, d->cartridge);
				if (error == 0)
					error = add_candidate(job, d->name);
				if (error == 0 && d->alias != NULL)
					error = add_candidate(job, d->alias);
			}
		}
	}
	if (error == 0 && file_job_start(job) == 0)
		return;
	file_job_free(job);
	answer_error(c, CONTROL_ERR_INTERNAL, "cannot start reading the catalog");
}

/* drives, with the counters kept in the state directory: read on a thread too. */
static void handle_drives_with_counters(struct control_connection *c,
                                        const struct control_request *request,
                                        const struct status_snapshot *snapshot)
{
	struct file_job *job = file_job_new(c, request);

	if (job == NULL)
		return;
	job->drive_count = snapshot->drive_count;
	job->drives = calloc(snapshot->drive_count + 1, sizeof(*job->drives));
	if (job->state_directory != NULL && job->drives != NULL) {
		for (size_t i = 0; i < snapshot->drive_count; i++) {
			struct drive_copy *copy = &job->drives[i];

			copy->drive = snapshot->drives[i];
			strlcpy(copy->name, snapshot->drives[i].name, sizeof(copy->name));
			copy->drive.name = copy->name;
			if (snapshot->drives[i].alias != NULL) {
				strlcpy(copy->alias, snapshot->drives[i].alias,
				        sizeof(copy->alias));
				copy->drive.alias = copy->alias;
			}
			if (snapshot->drives[i].cartridge != NULL) {
				strlcpy(copy->cartridge, snapshot->drives[i].cartridge,
				        sizeof(copy->cartridge));
				copy->drive.cartridge = copy->cartridge;
			}
		}
		if (file_job_start(job) == 0)
			return;
	}
	file_job_free(job);
	answer_error(c, CONTROL_ERR_INTERNAL, "cannot start reading the counters");
}

static void handle_kill(struct control_connection *c, unsigned id, struct evbuffer *body)
{
	struct control *control = c->control;
	struct session *session = status_monitor_find_session(control->monitor, id);
	struct status_snapshot snapshot;
	const struct status_session *after;
	char why[64];

	if (session == NULL) {
		answer_error(c, CONTROL_ERR_NOTFOUND, "no such session");
		return;
	}
	log_notice("control: session %u aborted by uid %u (pid %d)", id, (unsigned)c->uid,
	           (int)c->pid);
	snprintf(why, sizeof(why), "aborted by the operator (uid %u)", (unsigned)c->uid);
	/* May end the session at once: look it up again rather than touch it. */
	session_abort(session, why);
	if (status_monitor_snapshot(control->monitor, &snapshot) == 0 &&
	    (after = status_snapshot_session(&snapshot, id)) != NULL) {
		status_format_session_line(body, after);
		evbuffer_add(body, "\n", 1);
	} else {
		evbuffer_add_printf(body, "Session %u: ended\n", id);
	}
	answer_body(c, body);
}

/* Take a drive back from its holder, which lives on without it (session.h). */
static void handle_release(struct control_connection *c, const char *name,
                           const struct status_snapshot *snapshot, struct evbuffer *body)
{
	const char *drive = NULL; /* the registry's name: it outlives the snapshot */
	unsigned holder = 0;
	struct session *session;

	for (size_t i = 0; i < snapshot->drive_count && drive == NULL; i++) {
		const struct status_drive *d = &snapshot->drives[i];

		if (strcmp(d->name, name) == 0 ||
		    (d->alias != NULL && strcmp(d->alias, name) == 0)) {
			drive = d->name;
			holder = d->holder;
		}
	}
	if (drive == NULL) {
		answer_error(c, CONTROL_ERR_NOTFOUND, "no such drive");
		return;
	}
	if (holder == 0 ||
	    (session = status_monitor_find_session(c->control->monitor, holder)) == NULL) {
		answer_error(c, CONTROL_ERR_NOTFOUND, "nobody holds that drive");
		return;
	}
	evbuffer_add_printf(body, "Drive %s: taken back from session %u\n", drive, holder);
	/* May end the session: the body is written first, from the snapshot. */
	if (!session_take_back_drive(session)) {
		answer_error(c, CONTROL_ERR_BUSY, "the session holding it is ending");
		return;
	}
	log_info("control: drive %s taken back from session %u by uid %u (pid %d)", drive, holder,
	         (unsigned)c->uid, (int)c->pid);
	answer_body(c, body);
}

static void handle_request(struct control_connection *c, const char *line, size_t length)
{
	struct control *control = c->control;
	struct control_request request;
	struct status_snapshot snapshot;
	const struct status_session *session;
	struct evbuffer *body;
	const char *error;
	int rc = 0;

	/* Refused only now that the request is read: closing on unread data resets the peer. */
	if (c->denied) {
		answer_error(c, CONTROL_ERR_DENIED,
		             "only root and the control group may use this socket");
		return;
	}
	/* The tape library's commands (control_library.h): a changer may take seconds. */
	if (control_library_is_command(line, length)) {
		handle_library(c, line, length);
		return;
	}
	if (control_parse_request(line, length, &request, &error) < 0) {
		answer_error(c, CONTROL_ERR_USAGE, error);
		return;
	}
	if (request.command == CONTROL_CATALOG) {
		handle_catalog(c, &request);
		return;
	}
	body = evbuffer_new();
	if (body == NULL) {
		answer_error(c, CONTROL_ERR_INTERNAL, "out of memory");
		return;
	}
	if (request.command != CONTROL_HELP && request.command != CONTROL_KILL &&
	    status_monitor_snapshot(control->monitor, &snapshot) < 0) {
		answer_error(c, CONTROL_ERR_INTERNAL, "out of memory");
		evbuffer_free(body);
		return;
	}
	switch (request.command) {
	case CONTROL_STATUS:
		rc = request.json ? status_format_json(body, &snapshot)
		                  : status_format_text(body, &snapshot);
		break;
	case CONTROL_SESSION:
		session = status_snapshot_session(&snapshot, request.session);
		if (session == NULL) {
			answer_error(c, CONTROL_ERR_NOTFOUND, "no such session");
			evbuffer_free(body);
			return;
		}
		rc = request.json ? status_format_session_json(body, session)
		                  : status_format_session_line(body, session);
		if (rc == 0)
			rc = evbuffer_add(body, "\n", 1);
		break;
	case CONTROL_DRIVES:
		if (control->state_directory != NULL) {
			handle_drives_with_counters(c, &request, &snapshot);
			evbuffer_free(body);
			return;
		}
		rc = request.json ? status_format_drives_json(body, &snapshot)
		                  : status_format_drives_text(body, &snapshot);
		break;
	case CONTROL_KILL:
		handle_kill(c, request.session, body);
		evbuffer_free(body);
		return;
	case CONTROL_METRICS:
		rc = metrics_format(body, &snapshot);
		break;
	case CONTROL_HELP:
		rc = evbuffer_add(body, help_text, sizeof(help_text) - 1);
		break;
	case CONTROL_RELEASE:
		handle_release(c, request.name, &snapshot, body);
		evbuffer_free(body);
		return;
	case CONTROL_CATALOG:
		break;
	}
	if (rc == 0)
		answer_body(c, body);
	else
		answer_error(c, CONTROL_ERR_INTERNAL, "out of memory");
	evbuffer_free(body);
}

static void connection_read(struct bufferevent *bev, void *arg)
{
	struct control_connection *c = arg;
	struct evbuffer *input = bufferevent_get_input(bev);
	struct evbuffer_ptr eol;
	char line[CONTROL_REQUEST_MAX];
	size_t length;

	if (c->lingering)
		evbuffer_drain(input, evbuffer_get_length(input));
	if (c->answered || c->job != NULL)
		return;
	eol = evbuffer_search_eol(input, NULL, NULL, EVBUFFER_EOL_LF);
	if (eol.pos < 0) {
		if (evbuffer_get_length(input) >= CONTROL_REQUEST_MAX)
			answer_error(c, CONTROL_ERR_TOOLONG, "request line too long");
		return;
	}
	if ((size_t)eol.pos >= CONTROL_REQUEST_MAX) {
		answer_error(c, CONTROL_ERR_TOOLONG, "request line too long");
		return;
	}
	length = (size_t)eol.pos;
	evbuffer_remove(input, line, length);
	evbuffer_drain(input, 1);
	bufferevent_disable(bev, EV_READ);
	handle_request(c, line, length);
}

static void connection_event(struct bufferevent *bev, short what, void *arg)
{
	struct control_connection *c = arg;
	struct evbuffer *input = bufferevent_get_input(bev);
	size_t length = evbuffer_get_length(input);

	if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		control_connection_free(c);
		return;
	}
	/* EOF. A request without its newline (echo -n status | socat ...) is still one. */
	if (!c->answered && c->job == NULL && length > 0 && length < CONTROL_REQUEST_MAX) {
		char line[CONTROL_REQUEST_MAX];

		evbuffer_remove(input, line, length);
		handle_request(c, line, length);
	}
	/* rmtctl shuts its side after the request: the reply still has to go out. */
	if (c->job != NULL || (c->answered && evbuffer_get_length(bufferevent_get_output(bev)) > 0))
		return;
	control_connection_free(c);
}

/* Root, the daemon's own user, and members of the socket's group. */
static bool peer_allowed(int fd, gid_t group, uid_t *uid, pid_t *pid)
{
	struct ucred cred;
	socklen_t length = sizeof(cred);
	gid_t groups[256];
	socklen_t groups_length = sizeof(groups);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) < 0)
		return false;
	*uid = cred.uid;
	*pid = cred.pid;
	if (cred.uid == 0 || cred.uid == geteuid() || cred.gid == group)
		return true;
#ifdef SO_PEERGROUPS
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &groups_length) == 0) {
		for (size_t i = 0; i < groups_length / sizeof(gid_t); i++)
			if (groups[i] == group)
				return true;
	}
#endif
	return false;
}

static void control_accept(struct evconnlistener *listener, evutil_socket_t fd,
                           struct sockaddr *address, int address_length, void *arg)
{
	struct control *control = arg;
	struct control_connection *c;
	const struct timeval timeout = {CONTROL_TIMEOUT, 0};
	uid_t uid = (uid_t)-1;
	pid_t pid = 0;
	static const char busy[] = "ERR " CONTROL_ERR_BUSY " too many control connections\n";
	bool allowed = peer_allowed(fd, control->group, &uid, &pid);

	if (!allowed)
		log_warnx("control: refused uid %d (pid %d): not root, not in the control group",
		          (int)uid, (int)pid);
	if (control->connection_count >= CONTROL_CONNECTIONS_MAX) {
		char discard[512];

		/* Take what request has arrived, so that closing does not reset the reply. */
		for (int i = 0; i < CONTROL_REQUEST_MAX / (int)sizeof(discard); i++)
			if (recv(fd, discard, sizeof(discard), MSG_DONTWAIT) <= 0)
				break;
		(void)!send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	c->control = control;
	c->uid = uid;
	c->pid = pid;
	c->denied = !allowed;
	c->bev = bufferevent_socket_new(control->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&control->connections, c, entry);
	control->connection_count++;
	/* Stop reading once a request could not be complete any more. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, CONTROL_REQUEST_MAX + 1);
	bufferevent_setcb(c->bev, connection_read, connection_written, connection_event, c);
	bufferevent_set_timeouts(c->bev, &timeout, &timeout);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* An existing file at path: a stale socket is removed; a live one or anything else stops us. */
static int clear_stale_socket(const char *path, const struct sockaddr_un *address)
{
	struct stat st;
	int fd, live;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("control socket %s: a file that is not a socket is in the way", path);
		return -EEXIST;
	}
	/* Non-blocking: a live daemon with a full backlog answers EAGAIN, not a wait. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	live =
	    connect(fd, (const struct sockaddr *)address, sizeof(*address)) == 0 || errno == EAGAIN;
	close(fd);
	if (live) {
		log_warnx("control socket %s: another daemon is serving it", path);
		return -EADDRINUSE;
	}
	if (unlink(path) < 0)
		return -errno;
	return 0;
}

/*
 * The socket's directory (one level, e.g. /run/rmtd) is made if it is missing,
 * as the owner's: the daemon, no longer root at exit, must remove the socket.
 */
static void make_parent(const char *path, uid_t owner)
{
	char parent[PATH_MAX];
	struct stat st;
	char *slash;

	strlcpy(parent, path, sizeof(parent));
	slash = strrchr(parent, '/');
	if (slash == NULL || slash == parent)
		return;
	*slash = '\0';
	if (mkdir(parent, 0755) == 0) {
		if (owner != geteuid() && chown(parent, owner, (gid_t)-1) < 0)
			log_warn("control socket directory %s", parent);
	} else if (errno != EEXIST) {
		log_warn("control socket directory %s", parent);
	} else if (owner != geteuid() && stat(parent, &st) == 0 && st.st_uid != owner &&
	           !(st.st_mode & S_IWOTH)) {
		log_warnx("control socket %s: uid %u cannot remove it at exit (%s is not its); "
		          "the next start replaces it",
		          path, (unsigned)owner, parent);
	}
}

struct control *control_create(struct event_base *base, struct status_monitor *monitor,
                               const struct control_options *options)
{
	struct control *control;
	struct sockaddr_un address;
	struct stat st;
	mode_t old_mask;
	int fd, rc;

	memset(&address, 0, sizeof(address));
	address.sun_family = AF_UNIX;
	if (strlen(options->path) >= sizeof(address.sun_path)) {
		log_warnx("control socket %s: path too long (at most %zu bytes)", options->path,
		          sizeof(address.sun_path) - 1);
		return NULL;
	}
	strlcpy(address.sun_path, options->path, sizeof(address.sun_path));
	control = calloc(1, sizeof(*control));
	if (control == NULL)
		return NULL;
	control->base = base;
	control->monitor = monitor;
	control->group = options->group != (gid_t)-1 ? options->group : getegid();
	TAILQ_INIT(&control->connections);
	TAILQ_INIT(&control->jobs);
	strlcpy(control->path, options->path, sizeof(control->path));
	if (options->state_directory != NULL &&
	    (control->state_directory = strdup(options->state_directory)) == NULL) {
		free(control);
		return NULL;
	}
	make_parent(options->path, options->owner);
	if ((rc = clear_stale_socket(options->path, &address)) < 0) {
		if (rc != -EEXIST && rc != -EADDRINUSE)
			log_warnx("control socket %s: %s", options->path, strerror(-rc));
		goto fail;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("control socket");
		goto fail;
	}
	/* Nobody may connect before the mode and group are right. */
	old_mask = umask(0177);
	rc = bind(fd, (struct sockaddr *)&address, sizeof(address));
	umask(old_mask);
	if (rc < 0) {
		log_warn("control socket %s", options->path);
		close(fd);
		goto fail;
	}
	if ((options->group != (gid_t)-1 && chown(options->path, (uid_t)-1, options->group) < 0) ||
	    chmod(options->path, options->mode) < 0 || stat(options->path, &st) < 0 ||
	    listen(fd, 16) < 0) {
		log_warn("control socket %s", options->path);
		unlink(options->path);
		close(fd);
		goto fail;
	}
	control->dev = st.st_dev;
	control->ino = st.st_ino;
	control->listener = evconnlistener_new(
	    base, control_accept, control, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (control->listener == NULL) {
		log_warnx("control socket %s: cannot serve it", options->path);
		unlink(options->path);
		close(fd);
		goto fail;
	}
	log_info("control socket %s (mode %04o, group %u)", options->path, (unsigned)options->mode,
	         (unsigned)control->group);
	return control;
fail:
	free(control->state_directory);
	free(control);
	return NULL;
}

void control_free(struct control *control)
{
	struct control_connection *c;
	struct file_job *job;
	struct stat st;

	if (control == NULL)
		return;
	evconnlistener_free(control->listener);
	while ((c = TAILQ_FIRST(&control->connections)) != NULL)
		control_connection_free(c);
	/* Threads still reading a catalog: wait for them (only at exit). */
	while ((job = TAILQ_FIRST(&control->jobs)) != NULL) {
		pthread_join(job->thread, NULL);
		file_job_free(job);
	}
	/* Remove the socket only if it is still ours (not a successor's). */
	if (stat(control->path, &st) == 0 && st.st_dev == control->dev && st.st_ino == control->ino)
		unlink(control->path);
	free(control->state_directory);
	free(control);
}
