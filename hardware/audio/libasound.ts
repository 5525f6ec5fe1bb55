// libasound through koffi (FFI with prebuilt binaries for x64 and arm64): the calls
// both ALSA worker threads use. Loaded only inside those workers, where blocking
// calls cannot stall the event loop.

import koffi from 'koffi';

export const SND_PCM_STREAM_PLAYBACK = 0;
export const SND_PCM_STREAM_CAPTURE = 1;
export const SND_PCM_FORMAT_S16_LE = 2;
export const SND_PCM_FORMAT_S32_LE = 10;
export const SND_PCM_FORMAT_FLOAT_LE = 14;
export const SND_PCM_ACCESS_RW_INTERLEAVED = 3;
export const EPIPE = 32;
export const ESTRPIPE = 86;

const lib = koffi.load('libasound.so.2');
koffi.opaque('snd_pcm_t');
koffi.opaque('snd_pcm_sw_params_t');

export const snd = {
  open: lib.func('int snd_pcm_open(_Out_ snd_pcm_t **pcm, const char *name, int stream, int mode)'),
  setParams: lib.func('int snd_pcm_set_params(snd_pcm_t *pcm, int format, int access, unsigned int channels, unsigned int rate, int soft_resample, unsigned int latency)'),
  getParams: lib.func('int snd_pcm_get_params(snd_pcm_t *pcm, _Out_ unsigned long *buffer_size, _Out_ unsigned long *period_size)'),
  type: lib.func('int snd_pcm_type(snd_pcm_t *pcm)'),
  writei: lib.func('long snd_pcm_writei(snd_pcm_t *pcm, const void *buffer, unsigned long size)'),
  readi: lib.func('long snd_pcm_readi(snd_pcm_t *pcm, _Out_ void *buffer, unsigned long size)'),
  delay: lib.func('int snd_pcm_delay(snd_pcm_t *pcm, _Out_ long *delayp)'),
  recover: lib.func('int snd_pcm_recover(snd_pcm_t *pcm, int err, int silent)'),
  drain: lib.func('int snd_pcm_drain(snd_pcm_t *pcm)'),
  drop: lib.func('int snd_pcm_drop(snd_pcm_t *pcm)'),
  prepare: lib.func('int snd_pcm_prepare(snd_pcm_t *pcm)'),
  close: lib.func('int snd_pcm_close(snd_pcm_t *pcm)'),
  strerror: lib.func('const char *snd_strerror(int errnum)'),
  swMalloc: lib.func('int snd_pcm_sw_params_malloc(_Out_ snd_pcm_sw_params_t **ptr)'),
  swFree: lib.func('void snd_pcm_sw_params_free(snd_pcm_sw_params_t *obj)'),
  swCurrent: lib.func('int snd_pcm_sw_params_current(snd_pcm_t *pcm, snd_pcm_sw_params_t *params)'),
  swStartThreshold: lib.func('int snd_pcm_sw_params_set_start_threshold(snd_pcm_t *pcm, snd_pcm_sw_params_t *params, unsigned long val)'),
  swParams: lib.func('int snd_pcm_sw_params(snd_pcm_t *pcm, snd_pcm_sw_params_t *params)'),
};
