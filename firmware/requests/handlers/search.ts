import type { Handler } from '../context.ts';
import { summarize } from './track-ref.ts';

export const search: Handler = (ctx, body) => {
  const results = ctx.box.library.search(String(body.query), (body.limit as number | undefined) ?? 10);
  return { status: 'ok', data: { results: results.map((r) => ({ ...summarize(r.track), score: Math.round(r.score * 1000) / 1000 })) } };
};
