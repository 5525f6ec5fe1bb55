import type { Handler } from '../context.ts';
import { summarize } from './track-ref.ts';

/** the box's files and its music servers, merged; a server that did not answer in time is named in `unreachable` */
export const search: Handler = async (ctx, body) => {
  const { hits, unreachable } = await ctx.box.library.find(String(body.query), (body.limit as number | undefined) ?? 10);
  return {
    status: 'ok',
    data: { results: hits.map((r) => ({ ...summarize(r.track), score: Math.round(r.score * 1000) / 1000 })), ...(unreachable.length > 0 && { unreachable }) },
  };
};
