// A tiny page using the React SDK, for the browser test. Plain JS with createElement so the repo's
// type-check (no DOM lib) stays as it is; Vite bundles it with React.
import { createElement as h, StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { RipcordProvider, useFlag, useFlagDetails, useFlags, useVariant } from '../../../../packages/react/src/index.ts';

const params = new URLSearchParams(location.search);
const flagKey = params.get('flag') ?? 'new-nav';
const themeKey = params.get('theme') ?? 'theme';

function Page() {
  const on = useFlag(flagKey, false);
  const details = useFlagDetails(flagKey, false);
  const variant = useVariant(flagKey);
  const theme = useFlag(themeKey, 'default');
  const { status, flags } = useFlags();
  return h('main', null,
    h('h1', null, 'Ripcord React SDK'),
    h('p', { id: 'flag', 'data-value': String(on), className: on ? 'on' : 'off' }, on ? 'New navigation is ON' : 'New navigation is OFF'),
    h('p', null, 'reason ', h('code', { id: 'reason' }, details.reason), ' variant ', h('code', { id: 'variant' }, String(details.variant)), ' useVariant ', h('code', { id: 'use-variant' }, String(variant))),
    h('p', null, 'theme ', h('code', { id: 'theme' }, theme)),
    h('p', null, 'status ', h('code', { id: 'status' }, status), ' · flags known ', h('code', { id: 'count' }, String(Object.keys(flags).length))),
  );
}

const context = params.get('user') ? { targetingKey: params.get('user'), plan: 'pro' } : { plan: 'pro' };
createRoot(document.getElementById('root')).render(
  h(StrictMode, null,
    h(RipcordProvider, { url: params.get('api'), token: params.get('token'), context, appName: params.get('app') ?? undefined, appVersion: params.get('app') ? '2.0.0' : undefined }, h(Page))),
);
