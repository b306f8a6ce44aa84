/*
 * changer_sch.c - a SCSI medium changer through Linux's ch driver.
 *
 * CHIOGPARAMS gives the shape, CHIOGSTATUS which elements are full, CHIOGELEM
 * with the primary volume tag each cartridge's barcode, CHIOMOVE moves. The
 * ch driver counts every element type from 0; rmtd counts slots and portals
 * from 1 (as mtx and the SCSI element addresses seen by operators do), so
 * unit = number - 1 for those. A full element without a readable barcode is
 * named "@TYPE-UNIT" in the log and left out: rmtd's database is by barcode.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/chio.h>

#include "changer.h"
#include "log.h"

static int real_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg);
}

static int call(struct changer *changer, unsigned long request, void *arg)
{
	int rc;

	do
		rc = changer->ioctl_fn(changer->fd, request, arg);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

int changer_sch_open(struct changer *changer, const char *device, changer_ioctl_fn ioctl_fn)
{
	struct changer_params params;
	int error;

	memset(changer, 0, sizeof(*changer));
	changer->ops = &changer_sch_ops;
	changer->ioctl_fn = ioctl_fn != NULL ? ioctl_fn : real_ioctl;
	if (snprintf(changer->path, sizeof(changer->path), "%s", device) >=
	    (int)sizeof(changer->path))
		return -ENAMETOOLONG;
	changer->fd = ioctl_fn != NULL ? 0 : open(device, O_RDWR | O_CLOEXEC);
	if (changer->fd < 0)
		return -errno;
	memset(&params, 0, sizeof(params));
	if ((error = call(changer, CHIOGPARAMS, &params)) < 0) {
		if (ioctl_fn == NULL)
			close(changer->fd);
		changer->fd = -1;
		return error == -ENOTTY ? -ENODEV : error;
	}
	/* CHIOGSTATUS writes one byte per element of a type: the buffers are this big. */
	if (params.cp_ndrives < 1 || params.cp_ndrives > LIBRARY_DRIVES_MAX ||
	    params.cp_nslots < 1 || params.cp_nslots > LIBRARY_SLOTS_MAX ||
	    params.cp_nportals < 0 || params.cp_nportals > LIBRARY_PORTALS_MAX) {
		log_warnx("changer %s: %d drives, %d slots, %d portals: more than rmtd handles",
		          device, params.cp_ndrives, params.cp_nslots, params.cp_nportals);
		if (ioctl_fn == NULL)
			close(changer->fd);
		changer->fd = -1;
		return -E2BIG;
	}
	changer->drives = params.cp_ndrives;
	changer->slots = params.cp_nslots;
	changer->portals = params.cp_nportals;
	return 0;
}

static int sch_shape(struct changer *changer, int *drives, int *slots, int *portals)
{
	*drives = changer->drives;
	*slots = changer->slots;
	*portals = changer->portals;
	return 0;
}

static int ch_type(enum element_kind kind)
{
	return kind == ELEMENT_DRIVE ? CHET_DT : kind == ELEMENT_SLOT ? CHET_ST : CHET_IE;
}

static int ch_unit(const struct element_address *a)
{
	return a->kind == ELEMENT_DRIVE ? a->number : a->number - 1;
}

/* The barcode of a full element, trimmed of the blanks SCSI pads it with. */
static int element_barcode(struct changer *changer, int type, int unit, char *out, size_t size)
{
	struct changer_get_element ge;
	size_t length;
	int error;

	memset(&ge, 0, sizeof(ge));
	ge.cge_type = type;
	ge.cge_unit = unit;
	ge.cge_flags = CGE_PVOLTAG;
	if ((error = call(changer, CHIOGELEM, &ge)) < 0)
		return error;
	ge.cge_pvoltag[sizeof(ge.cge_pvoltag) - 1] = '\0';
	length = strnlen(ge.cge_pvoltag, 32);
	while (length > 0 &&
	       (ge.cge_pvoltag[length - 1] == ' ' || ge.cge_pvoltag[length - 1] == '\0'))
		length--;
	if (length == 0 || length >= size)
		return -ENODATA;
	memcpy(out, ge.cge_pvoltag, length);
	out[length] = '\0';
	return library_barcode_valid(out) ? 0 : -ENODATA;
}

static int read_kind(struct changer *changer, enum element_kind kind, struct library_element *e,
                     int count)
{
	unsigned char status[LIBRARY_SLOTS_MAX];
	struct changer_element_status es = {.ces_type = ch_type(kind), .ces_data = status};
	int error;

	if (count == 0)
		return 0;
	memset(status, 0, sizeof(status));
	if ((error = call(changer, CHIOGSTATUS, &es)) < 0)
		return error;
	for (int unit = 0; unit < count; unit++) {
		char barcode[LIBRARY_BARCODE_MAX + 1];
		struct library_element before = e[unit];

		memset(&e[unit], 0, sizeof(e[unit]));
		if (!(status[unit] & CESTATUS_FULL))
			continue;
		if (element_barcode(changer, ch_type(kind), unit, barcode, sizeof(barcode)) < 0) {
			log_warnx("changer %s: %s %d is full but has no readable barcode",
			          changer->path, library_kind_name(kind),
			          kind == ELEMENT_DRIVE ? unit : unit + 1);
			continue;
		}
		/* The same cartridge as before keeps what rmtd knew of it (home, written). */
		if (strcmp(before.barcode, barcode) == 0)
			e[unit] = before;
		snprintf(e[unit].barcode, sizeof(e[unit].barcode), "%s", barcode);
	}
	return 0;
}

static int sch_inventory(struct changer *changer, struct library_state *lib)
{
	int error;

	if ((error = read_kind(changer, ELEMENT_DRIVE, lib->drives, lib->drive_count)) < 0 ||
	    (error = read_kind(changer, ELEMENT_SLOT, lib->slots, lib->slot_count)) < 0 ||
	    (error = read_kind(changer, ELEMENT_PORTAL, lib->portals, lib->portal_count)) < 0)
		return error;
	return 0;
}

static int sch_move(struct changer *changer, const struct library_state *lib,
                    const struct element_address *from, const struct element_address *to)
{
	struct changer_move move = {
	    .cm_fromtype = ch_type(from->kind),
	    .cm_fromunit = ch_unit(from),
	    .cm_totype = ch_type(to->kind),
	    .cm_tounit = ch_unit(to),
	};

	(void)lib;
	return call(changer, CHIOMOVE, &move);
}

static void sch_close(struct changer *changer)
{
	if (changer->fd > 0 && changer->ioctl_fn == real_ioctl)
		close(changer->fd);
	changer->fd = -1;
}

const struct changer_ops changer_sch_ops = {
    .name = "sch",
    .shape = sch_shape,
    .inventory = sch_inventory,
    .move = sch_move,
    .close = sch_close,
};
