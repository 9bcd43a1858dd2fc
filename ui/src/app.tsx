import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { ConfirmProvider } from './confirm.tsx';
import { LiveIndicator, LiveProvider } from './live.tsx';
import { ApiError, createApi, type Credential } from './api.ts';
import type { FlagListPage, User } from '../../src/protocol/admin-api.ts';
import type { SsoInfo, SsoLogout, SsoSession } from '../../src/sso/protocol.ts';
import { ErrorBox } from './components.tsx';
import { Link, navigate, useLocation } from './router.tsx';
import { makeCan, SessionContext, TOKEN_KEY, useSession, type Me, type Session } from './session.tsx';
import { Dashboard } from './pages/dashboard.tsx';
import { FlagPage } from './pages/flag-page.tsx';
import { AuditPage } from './pages/audit-page.tsx';
import { SegmentsPage } from './pages/segments-page.tsx';
import { UsersPage } from './pages/users-page.tsx';
import { TokensPage } from './pages/tokens-page.tsx';
import { WebhooksPage } from './pages/webhooks-page.tsx';
import { ReadyToRemovePage } from './pages/ready-to-remove-page.tsx';
import { FleetPage } from './pages/fleet-page.tsx';
import { ChangeRequestsPage } from './pages/change-requests-page.tsx';
import { ReleaseTemplatesPage } from './pages/release-templates-page.tsx';
import { PendingDecisions } from './pending-decisions.tsx';
import { ThemeSelect } from './theme.tsx';

const DEFAULT_ENVIRONMENTS = ['development', 'staging', 'production'];

/** Signs in with a credential: who it acts as, and the environments (from any flag's configs). */
async function signIn(credential: Credential, onUnauthorized: () => void, known?: Me): Promise<Session | null> {
  const api = createApi(credential, onUnauthorized);
  const me: Me = known ?? await api.get<User>('/api/v1/users/me');
  const page = await api.get<FlagListPage>('/api/v1/flags?state=all&limit=1');
  const envs = page.flags[0] ? Object.keys(page.flags[0].environments) : [];
  const order = (e: string) => (DEFAULT_ENVIRONMENTS.includes(e) ? DEFAULT_ENVIRONMENTS.indexOf(e) : 99);
  const environments = (envs.length ? envs : DEFAULT_ENVIRONMENTS).sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  return { api, me, environments, can: makeCan(me), signOut: () => undefined };
}

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [restoring, setRestoring] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [sso, setSso] = useState<SsoInfo | null>(null);

  const signOut = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    setSession(null);
  };

  /** Ends a single sign-on session here, then at the identity provider when it offers that. */
  const signOutSso = (csrfToken: string) => async () => {
    let next = '/';
    try {
      next = (await createApi({ csrfToken }).request<SsoLogout>('POST', '/api/v1/sso/logout')).logout_url ?? '/';
    } catch {
      // The session had ended already (timed out, or the user was deactivated): nothing left to end here.
    }
    setSession(null);
    window.location.assign(next);
  };

  const start = async (token: string) => {
    setError(null);
    try {
      const s = await signIn({ token }, signOut);
      if (!s) return;
      sessionStorage.setItem(TOKEN_KEY, token);
      setSession({ ...s, signOut });
    } catch (e) {
      sessionStorage.removeItem(TOKEN_KEY);
      setError(e instanceof ApiError && e.status === 401 ? new Error('That token was not accepted (unknown, revoked or expired).') : e);
    } finally {
      setRestoring(false);
    }
  };

  useEffect(() => {
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) {
      void start(saved);
      return;
    }
    void (async () => {
      try {
        // Single sign-on: the session cookie is httpOnly, so the API says whether this browser has a live one.
        const info = await createApi({ csrfToken: '' }).get<SsoInfo>('/api/v1/sso');
        setSso(info);
        if (info.signed_in) {
          const cookie = await createApi({ csrfToken: '' }).get<SsoSession>('/api/v1/sso/session');
          const s = await signIn({ csrfToken: cookie.csrf_token }, signOut, cookie.user);
          if (s) setSession({ ...s, signOut: () => void signOutSso(cookie.csrf_token)() });
        }
      } catch (e) {
        setError(e);
      } finally {
        setRestoring(false);
      }
    })();
  }, []);

  if (restoring) return <main className="center"><p role="status">Signing in…</p></main>;
  if (!session) return <SignIn onSubmit={start} error={error} sso={sso} />;
  return (
    <SessionContext.Provider value={session}>
      <LiveProvider>
        <ConfirmProvider>
          <Shell />
        </ConfirmProvider>
      </LiveProvider>
    </SessionContext.Provider>
  );
}

function SignIn({ onSubmit, error, sso }: { onSubmit: (token: string) => Promise<void>; error: unknown; sso: SsoInfo | null }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    await onSubmit(token.trim());
    setBusy(false);
  };
  return (
    <main className="center">
      <ThemeSelect />
      <form className="card sign-in" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title"><span aria-hidden="true">🪂</span> Ripcord</h1>
        {sso?.enabled && sso.login_url && (
          <p><a className="sso" href={`${sso.login_url}?return_to=${encodeURIComponent(window.location.pathname)}`}>Sign in with {sso.provider_name}</a></p>
        )}
        <p>{sso?.enabled ? 'Or sign in' : 'Sign in'} with an admin API token (<code>rc_admin_…</code>, or the bootstrap token). It is kept in this tab’s session storage only.</p>
        <div className="field">
          <label htmlFor="token">Admin token</label>
          <input id="token" name="token" type="password" autoComplete="off" required autoFocus value={token} onChange={(e) => setToken(e.target.value)} />
        </div>
        <ErrorBox error={error} />
        <button className="primary" type="submit" disabled={busy || !token.trim()}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  );
}

const NAV = [
  { to: '/', label: 'Dashboard' },
  { to: '/change-requests', label: 'Change requests' },
  { to: '/release-templates', label: 'Release templates' },
  { to: '/ready-to-remove', label: 'Ready to remove' },
  { to: '/instances', label: 'SDK instances' },
  { to: '/audit', label: 'Audit log' },
  { to: '/segments', label: 'Segments' },
  { to: '/tokens', label: 'Tokens' },
  { to: '/users', label: 'Users' },
  { to: '/webhooks', label: 'Webhooks' },
];

function Shell() {
  const session = useSession();
  const { path } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const page = useMemo(() => route(path), [path]);
  const first = useRef(true);
  useEffect(() => {
    setMenuOpen(false);
    // After an in-app navigation, focus goes to the new page (its heading once loaded), not the body.
    if (first.current) {
      first.current = false;
      return;
    }
    const main = document.getElementById('main');
    const focusHeading = () => (main?.querySelector('h1') as HTMLElement | null);
    const h1 = focusHeading();
    if (h1) {
      h1.tabIndex = -1;
      h1.focus();
    } else main?.focus();
  }, [path]);
  // "/" jumps to the page's search (as on GitHub and LaunchDarkly), unless one is typing.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey) return;
      const target = event.target as HTMLElement | null;
      if (target?.closest('input, textarea, select, [contenteditable="true"], dialog[open]')) return;
      const search = document.querySelector<HTMLInputElement>('#main [role="search"] input');
      if (!search) return;
      event.preventDefault();
      search.focus();
      search.select();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  const isActive = (to: string) => (to === '/' ? path === '/' || path.startsWith('/flags') : path.startsWith(to));
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="topbar">
        <Link to="/" className="brand">Ripcord</Link>
        <button className="menu-toggle" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen(!menuOpen)}>Menu</button>
        <nav id="nav" aria-label="Main" className={menuOpen ? 'open' : ''}>
          {NAV.filter((n) => !['/users', '/webhooks'].includes(n.to) || session.can({ resource: 'user', action: 'read' }).allowed).map((n) => (
            <Link key={n.to} to={n.to} aria-current={isActive(n.to) ? 'page' : undefined}>{n.label}{n.to === '/change-requests' && <PendingDecisions />}</Link>
          ))}
        </nav>
        <LiveIndicator />
        <div className="who" data-testid="who">
          <span>{session.me.name || session.me.email}</span> <span className={`badge role-${session.me.role}`} data-testid="role">{session.me.role}</span>
          <ThemeSelect />
          <button className="link" onClick={() => { session.signOut(); navigate('/'); }}>Sign out</button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>{page}</main>
    </>
  );
}

function route(path: string) {
  const flag = /^\/flags\/([^/]+)(?:\/([^/]+))?$/.exec(path);
  if (flag) return <FlagPage key={flag[1]} flagKey={decodeURIComponent(flag[1]!)} env={flag[2] ? decodeURIComponent(flag[2]) : undefined} />;
  const changeRequest = /^\/change-requests(?:\/([^/]+))?$/.exec(path);
  if (changeRequest) return <ChangeRequestsPage key={changeRequest[1] ?? ''} id={changeRequest[1] ? decodeURIComponent(changeRequest[1]) : undefined} />;
  const template = /^\/release-templates(?:\/([^/]+))?$/.exec(path);
  if (template) return <ReleaseTemplatesPage key={template[1] ?? ''} name={template[1] ? decodeURIComponent(template[1]) : undefined} />;
  if (path === '/ready-to-remove') return <ReadyToRemovePage />;
  const fleet = /^\/instances(?:\/([^/]+))?$/.exec(path);
  if (fleet) return <FleetPage env={fleet[1] ? decodeURIComponent(fleet[1]) : undefined} />;
  if (path === '/audit') return <AuditPage />;
  if (path === '/segments') return <SegmentsPage />;
  if (path === '/users') return <UsersPage />;
  if (path === '/tokens') return <TokensPage />;
  if (path === '/webhooks') return <WebhooksPage />;
  if (path === '/' || path === '') return <Dashboard />;
  return <section><h1>Not found</h1><p>No page at <code>{path}</code>. <Link to="/">Back to the dashboard</Link>.</p></section>;
}
