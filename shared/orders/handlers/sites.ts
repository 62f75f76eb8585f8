import { ConflictError, DomainError } from '../../errors';
import { OrderRefusedError } from '../errors';
import type { OrderContext, OrderHandler, OrderHandlerDeps } from './context';

/**
 * Site events drive the dial-plan capability through its service, as the API does. Each is one step:
 * a run killed after the site changed but before the step was saved finds the site already there.
 */
export const siteCreated: OrderHandler<'site.created'> = async (ctx, deps) => {
  const { customerId: _c, sbcId, ...rest } = ctx.data;
  const customerId = ctx.customer!.id;
  const siteId = rest.siteId ?? customerId.toLowerCase();
  const result = await ctx.step('site', () =>
    refused(async () => {
      try {
        return await deps.sites.create(sbcId, { ...rest, customerId, id: siteId }, ctx.actor);
      } catch (e) {
        // The same event again (a run that was stopped after the site was made): done already.
        if (
          e instanceof ConflictError &&
          (await deps.sites.ownerOf(sbcId, siteId))?.toLowerCase() === customerId.toLowerCase()
        )
          return { siteId, changeId: null };
        throw e;
      }
    }),
  );
  return { customerId, sbcId, ...result };
};

export const sitePrefixesChanged: OrderHandler<'site.prefixes.changed'> = async (ctx, deps) => {
  const { sbcId, siteId } = ctx.data;
  await ownSite(ctx, deps);
  const result = await ctx.step('prefixes', () =>
    refused(() =>
      deps.sites.changePrefixes(
        sbcId,
        siteId,
        { add: ctx.data.add ?? [], remove: ctx.data.remove ?? [] },
        ctx.actor,
      ),
    ),
  );
  return { customerId: ctx.customer!.id, sbcId, siteId, ...result };
};

export const siteRemoved: OrderHandler<'site.removed'> = async (ctx, deps) => {
  const { sbcId, siteId } = ctx.data;
  await ownSite(ctx, deps);
  const result = await ctx.step('remove', () => refused(() => deps.sites.remove(sbcId, siteId, ctx.actor)));
  return { customerId: ctx.customer!.id, sbcId, siteId, ...result };
};

/** An order may only touch its own customer's site. */
async function ownSite(
  ctx: OrderContext<'site.prefixes.changed' | 'site.removed'>,
  deps: OrderHandlerDeps,
): Promise<void> {
  const owner = await deps.sites.ownerOf(ctx.data.sbcId, ctx.data.siteId);
  if (owner?.toLowerCase() !== ctx.customer!.id.toLowerCase()) {
    throw new OrderRefusedError(
      'site_not_found',
      `Customer ${ctx.customer!.id} has no site ${ctx.data.sbcId}/${ctx.data.siteId}.`,
      'siteId',
    );
  }
}

/** What can never succeed as sent (a bad value, an unknown SBC, a rule-name clash) fails the event; the rest is retried. */
async function refused<R>(fn: () => Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (e) {
    if (
      e instanceof DomainError &&
      e.status < 500 &&
      !(e instanceof ConflictError && /changed by someone else/.test(e.message))
    ) {
      throw new OrderRefusedError(e.code, e.message);
    }
    throw e;
  }
}
