/**
 * One StatsD line: `name:value|type[|@rate][|#tag:value,...]`, the types c (counter), g (gauge; a
 * leading + or - makes it a change), ms (timer, milliseconds), h and d (histogram, distribution) and
 * s (set), with DogStatsD tags. Anything else is malformed: the caller counts it and reads on.
 */

export type StatsdType = 'counter' | 'gauge' | 'observer' | 'set';

export interface StatsdLine {
  readonly name: string;
  readonly type: StatsdType;
  /** Counter increments are already divided by the sample rate; timers are in seconds. */
  readonly value: number;
  /** A gauge change (`+3`, `-2`) rather than a new value. */
  readonly delta: boolean;
  /** A set's member, as sent. */
  readonly member: string;
  /** For observers: how many observations this line stands for (1 / sample rate). */
  readonly weight: number;
  readonly tags: ReadonlyArray<readonly [string, string]>;
}

const typeCodes: Record<string, StatsdType> = {
  c: 'counter',
  g: 'gauge',
  ms: 'observer',
  h: 'observer',
  d: 'observer',
  s: 'set',
};
const numberText = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The line, or a reason it is malformed. */
export function parseLine(line: string): StatsdLine | string {
  const colon = line.indexOf(':');
  if (colon <= 0) return 'no "name:" before the value';
  const name = line.slice(0, colon);
  const fields = line.slice(colon + 1).split('|');
  if (fields.length < 2) return 'no "|type" after the value';
  const [valueText = '', code = ''] = fields;
  const type = Object.hasOwn(typeCodes, code) ? typeCodes[code] : undefined;
  if (!type) return `unknown type ${JSON.stringify(code.slice(0, 20))}`;
  let rate = 1;
  let tags: Array<readonly [string, string]> = [];
  for (let i = 2; i < fields.length; i++) {
    const field = fields[i] as string;
    if (field.startsWith('@')) {
      rate = Number(field.slice(1));
      if (!(rate > 0 && rate <= 1)) return `sample rate ${JSON.stringify(field)} is not in (0, 1]`;
    } else if (field.startsWith('#')) {
      const parsed = parseTags(field.slice(1));
      if (typeof parsed === 'string') return parsed;
      tags = parsed;
    } else if (field.startsWith('c:') || field.startsWith('T')) {
      // DogStatsD container id and timestamp: nothing to do with them here.
    } else return `unknown field ${JSON.stringify(field.slice(0, 20))}`;
  }
  if (type === 'set') return { name, type, value: 0, delta: false, member: valueText, weight: 1, tags };
  if (!numberText.test(valueText)) return `value ${JSON.stringify(valueText.slice(0, 40))} is not a number`;
  const number = Number(valueText);
  if (type === 'counter')
    return { name, type, value: number / rate, delta: false, member: '', weight: 1, tags };
  if (type === 'gauge') {
    const delta = valueText[0] === '+' || valueText[0] === '-';
    return { name, type, value: number, delta, member: '', weight: 1, tags };
  }
  const seconds = code === 'ms' ? number / 1000 : number;
  return { name, type, value: seconds, delta: false, member: '', weight: 1 / rate, tags };
}

function parseTags(text: string): Array<readonly [string, string]> | string {
  const tags: Array<readonly [string, string]> = [];
  for (const tag of text.split(',')) {
    if (tag === '') continue;
    const colon = tag.indexOf(':');
    if (colon <= 0) return `tag ${JSON.stringify(tag.slice(0, 40))} has no "name:value"`;
    tags.push([tag.slice(0, colon), tag.slice(colon + 1)]);
  }
  return tags;
}
