/*
 * A stand-in for libgpiod, for machines without GPIO: the functions the gpiod
 * backend binds, with the signatures and the ownership rules of the real
 * library (v1 API: libgpiod.so.2; built with -DLIBGPIOD_V2, the v2 API of
 * libgpiod.so.3). Instead of driving a chip it appends what happened to the
 * file named by FAKE_LIBGPIOD_LOG, one line per event, the same for both APIs:
 *   open <path> | request <offset> output <0|1> consumer <name> | set <offset> <0|1>
 *   release <offset> | close
 * FAKE_LIBGPIOD_FAIL=open|request|set makes that step fail (NULL or -1 with
 * errno ENOENT, EBUSY or EIO), read on every call so a test can switch it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINES 64

static void record(const char *format, ...) __attribute__((format(printf, 1, 2)));
static void record(const char *format, ...)
{
	const char *path = getenv("FAKE_LIBGPIOD_LOG");
	FILE *log = path ? fopen(path, "a") : NULL;
	va_list args;
	if (!log)
		return;
	va_start(args, format);
	vfprintf(log, format, args);
	va_end(args);
	fputc('\n', log);
	fclose(log);
}

static int failing(const char *step, int error)
{
	const char *fail = getenv("FAKE_LIBGPIOD_FAIL");
	if (!fail || strcmp(fail, step) != 0)
		return 0;
	errno = error;
	return 1;
}

struct gpiod_chip {
	int open;
};

static struct gpiod_chip *open_chip(const char *path)
{
	struct gpiod_chip *chip;
	if (failing("open", ENOENT))
		return NULL;
	chip = calloc(1, sizeof(*chip));
	chip->open = 1;
	record("open %s", path);
	return chip;
}

#ifndef LIBGPIOD_V2

const char *gpiod_version_string(void) { return "1.6.3"; }

struct gpiod_line {
	unsigned int offset;
	int requested;
};

static struct gpiod_line lines[MAX_LINES];

struct gpiod_chip *gpiod_chip_open(const char *path) { return open_chip(path); }

void gpiod_chip_close(struct gpiod_chip *chip)
{
	for (unsigned int i = 0; i < MAX_LINES; i++)
		lines[i].requested = 0;
	free(chip);
	record("close");
}

/* the real library hands out one line object per offset, owned by the chip */
struct gpiod_line *gpiod_chip_get_line(struct gpiod_chip *chip, unsigned int offset)
{
	if (!chip || offset >= MAX_LINES) {
		errno = EINVAL;
		return NULL;
	}
	lines[offset].offset = offset;
	return &lines[offset];
}

int gpiod_line_request_output(struct gpiod_line *line, const char *consumer, int default_val)
{
	if (line->requested) {
		errno = EBUSY;
		return -1;
	}
	if (failing("request", EBUSY))
		return -1;
	line->requested = 1;
	record("request %u output %d consumer %s", line->offset, default_val ? 1 : 0, consumer);
	return 0;
}

int gpiod_line_set_value(struct gpiod_line *line, int value)
{
	if (!line->requested) {
		errno = EPERM;
		return -1;
	}
	if (failing("set", EIO))
		return -1;
	record("set %u %d", line->offset, value ? 1 : 0);
	return 0;
}

void gpiod_line_release(struct gpiod_line *line)
{
	if (!line->requested)
		return;
	line->requested = 0;
	record("release %u", line->offset);
}

#else /* the v2 API */

const char *gpiod_version_string(void) { return "2.1.3"; }

struct gpiod_line_settings { int direction; int value; };
struct gpiod_line_config { unsigned int offsets[MAX_LINES]; size_t count; struct gpiod_line_settings settings; };
struct gpiod_request_config { char consumer[32]; };
struct gpiod_line_request { unsigned int offsets[MAX_LINES]; size_t count; };

static int requested[MAX_LINES];

struct gpiod_chip *gpiod_chip_open(const char *path) { return open_chip(path); }

void gpiod_chip_close(struct gpiod_chip *chip)
{
	free(chip);
	record("close");
}

struct gpiod_line_settings *gpiod_line_settings_new(void) { return calloc(1, sizeof(struct gpiod_line_settings)); }
void gpiod_line_settings_free(struct gpiod_line_settings *settings) { free(settings); }

int gpiod_line_settings_set_direction(struct gpiod_line_settings *settings, int direction)
{
	settings->direction = direction;
	return 0;
}

int gpiod_line_settings_set_output_value(struct gpiod_line_settings *settings, int value)
{
	settings->value = value;
	return 0;
}

struct gpiod_line_config *gpiod_line_config_new(void) { return calloc(1, sizeof(struct gpiod_line_config)); }
void gpiod_line_config_free(struct gpiod_line_config *config) { free(config); }

int gpiod_line_config_add_line_settings(struct gpiod_line_config *config, const unsigned int *offsets, size_t num_offsets,
					struct gpiod_line_settings *settings)
{
	if (num_offsets == 0 || config->count + num_offsets > MAX_LINES) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < num_offsets; i++)
		config->offsets[config->count++] = offsets[i];
	config->settings = *settings;
	return 0;
}

struct gpiod_request_config *gpiod_request_config_new(void) { return calloc(1, sizeof(struct gpiod_request_config)); }
void gpiod_request_config_free(struct gpiod_request_config *config) { free(config); }

void gpiod_request_config_set_consumer(struct gpiod_request_config *config, const char *consumer)
{
	snprintf(config->consumer, sizeof(config->consumer), "%s", consumer ? consumer : "");
}

struct gpiod_line_request *gpiod_chip_request_lines(struct gpiod_chip *chip, struct gpiod_request_config *req_cfg,
						    struct gpiod_line_config *line_cfg)
{
	struct gpiod_line_request *request;
	/* GPIOD_LINE_DIRECTION_OUTPUT is 3: anything else is not what an LED needs */
	if (!chip || line_cfg->count == 0 || line_cfg->settings.direction != 3) {
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < line_cfg->count; i++) {
		if (line_cfg->offsets[i] >= MAX_LINES || requested[line_cfg->offsets[i]]) {
			errno = EBUSY;
			return NULL;
		}
	}
	if (failing("request", EBUSY))
		return NULL;
	request = calloc(1, sizeof(*request));
	for (size_t i = 0; i < line_cfg->count; i++) {
		request->offsets[request->count++] = line_cfg->offsets[i];
		requested[line_cfg->offsets[i]] = 1;
		record("request %u output %d consumer %s", line_cfg->offsets[i], line_cfg->settings.value ? 1 : 0,
		       req_cfg ? req_cfg->consumer : "");
	}
	return request;
}

int gpiod_line_request_set_value(struct gpiod_line_request *request, unsigned int offset, int value)
{
	size_t i;
	for (i = 0; i < request->count && request->offsets[i] != offset; i++)
		;
	if (i == request->count) {
		errno = EINVAL;
		return -1;
	}
	if (failing("set", EIO))
		return -1;
	record("set %u %d", offset, value ? 1 : 0);
	return 0;
}

void gpiod_line_request_release(struct gpiod_line_request *request)
{
	for (size_t i = 0; i < request->count; i++) {
		requested[request->offsets[i]] = 0;
		record("release %u", request->offsets[i]);
	}
	free(request);
}

#endif
