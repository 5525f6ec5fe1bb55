// What Home Assistant checks in an MQTT discovery message before it creates
// anything, for the components the box announces (Home Assistant's MQTT
// integration documentation: device-based discovery, sensor, number, select,
// button, switch, text, image, device trigger). Returns the problems found, empty when Home
// Assistant would accept the message.

const PLATFORMS = new Set(['sensor', 'number', 'select', 'button', 'switch', 'text', 'image', 'device_automation']);
const REQUIRED: Record<string, string[]> = {
  sensor: ['state_topic'],
  number: ['command_topic'],
  select: ['command_topic', 'options'],
  button: ['command_topic'],
  switch: ['command_topic'],
  text: ['command_topic'],
  image: [],
  device_automation: ['automation_type', 'topic', 'type', 'subtype'],
};
const TOPIC_KEYS = ['state_topic', 'command_topic', 'topic', 'image_topic', 'url_topic'];

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function checkTopic(where: string, key: string, value: unknown, problems: string[]): void {
  if (typeof value !== 'string' || value === '') problems.push(`${where}: ${key} must be a non-empty string`);
  else if (/[#+]/.test(value)) problems.push(`${where}: ${key} '${value}' holds a wildcard`);
}

/** Problems of one component (`p` given, or the platform of a per-component topic). */
export function componentProblems(where: string, platform: string, config: Json, shared: Json = {}): string[] {
  const problems: string[] = [];
  if (!PLATFORMS.has(platform)) return [`${where}: unknown platform '${platform}'`];
  const merged = { ...shared, ...config };
  for (const key of REQUIRED[platform] ?? []) if (merged[key] === undefined) problems.push(`${where}: ${platform} requires '${key}'`);
  for (const key of TOPIC_KEYS) if (merged[key] !== undefined) checkTopic(where, key, merged[key], problems);
  if (platform === 'device_automation') {
    if (merged.automation_type !== 'trigger') problems.push(`${where}: automation_type must be 'trigger'`);
    return problems;
  }
  if (typeof merged.unique_id !== 'string' || merged.unique_id === '') problems.push(`${where}: unique_id is required in device discovery`);
  if (platform === 'select' && (!Array.isArray(merged.options) || merged.options.length === 0 || merged.options.some((o) => typeof o !== 'string'))) {
    problems.push(`${where}: select options must be a non-empty list of strings`);
  }
  if (platform === 'image') {
    // image: exactly one of image_topic (the picture's bytes) and url_topic (a URL to fetch); the content
    // type only with image_topic (with a URL it comes from the download); the only encoding is b64
    const topics = ['image_topic', 'url_topic'].filter((key) => merged[key] !== undefined);
    if (topics.length !== 1) problems.push(`${where}: image needs exactly one of image_topic and url_topic, got ${topics.length ? topics.join(' and ') : 'neither'}`);
    if (merged.url_topic !== undefined && merged.content_type !== undefined) problems.push(`${where}: image content_type cannot go with url_topic`);
    if (merged.content_type !== undefined && !(typeof merged.content_type === 'string' && /^image\/[\w.+-]+$/.test(merged.content_type))) {
      problems.push(`${where}: image content_type must be an image/* type`);
    }
    if (merged.image_encoding !== undefined && merged.image_encoding !== 'b64') problems.push(`${where}: image_encoding may only be 'b64'`);
  }
  if (platform === 'text') {
    const min = (merged.min ?? 0) as number;
    const max = (merged.max ?? 255) as number;
    if (!(min >= 0 && min <= max && max <= 255)) problems.push(`${where}: text min ${min} / max ${max} must satisfy 0 <= min <= max <= 255`);
  }
  if (platform === 'number') {
    const min = (merged.min ?? 1) as number;
    const max = (merged.max ?? 100) as number;
    if (!(min < max)) problems.push(`${where}: number min ${min} must be below max ${max}`);
    if (merged.step !== undefined && !((merged.step as number) > 0)) problems.push(`${where}: number step must be positive`);
  }
  const availability = merged.availability;
  if (availability !== undefined) {
    if (!Array.isArray(availability) || availability.length === 0) problems.push(`${where}: availability must be a non-empty list`);
    else {
      availability.forEach((entry, i) => {
        checkTopic(where, `availability[${i}].topic`, isObject(entry) ? entry.topic : undefined, problems);
      });
    }
  }
  return problems;
}

/** Problems of a device-based discovery message (`<prefix>/device/<id>/config`). */
export function deviceDiscoveryProblems(payload: unknown): string[] {
  if (!isObject(payload)) return ['the payload is not a JSON object'];
  const problems: string[] = [];
  const device = payload.dev ?? payload.device;
  if (!isObject(device)) problems.push("'dev' (the device) is required");
  else if (!(Array.isArray(device.identifiers) && device.identifiers.length > 0) && !(Array.isArray(device.connections) && device.connections.length > 0)) {
    problems.push("'dev' needs identifiers or connections");
  }
  const origin = payload.o ?? payload.origin;
  if (!isObject(origin) || typeof origin.name !== 'string' || origin.name === '') problems.push("'o' (origin) with a name is required");
  const components = payload.cmps ?? payload.components;
  if (!isObject(components) || Object.keys(components).length === 0) return [...problems, "'cmps' must hold at least one component"];
  const { dev: _d, device: _e, o: _o, origin: _r, cmps: _c, components: _m, ...shared } = payload;
  for (const [key, component] of Object.entries(components)) {
    if (!isObject(component)) {
      problems.push(`cmps.${key}: not an object`);
      continue;
    }
    const platform = component.p ?? component.platform;
    if (typeof platform !== 'string') {
      problems.push(`cmps.${key}: 'p' (platform) is required`);
      continue;
    }
    problems.push(...componentProblems(`cmps.${key}`, platform, component, shared));
  }
  return problems;
}

/** The `value_json.<key>` paths a component's templates read (the state must have them). */
export function templateKeys(config: Json): string[] {
  const keys = new Set<string>();
  for (const value of Object.values(config)) {
    if (typeof value !== 'string') continue;
    for (const match of value.matchAll(/value_json\.([A-Za-z_]+)/g)) if (match[1]) keys.add(match[1]);
  }
  return [...keys];
}
