import { useEffect, useState } from 'react';

/**
 * The colour theme: the system's (prefers-color-scheme, the default) or one the user chose, kept in
 * localStorage so it outlives the tab's session. The stylesheet does the rest: every colour is a
 * light-dark() pair resolved by color-scheme, which follows `data-theme` on <html> when it is set.
 */
export type ThemeChoice = 'system' | 'light' | 'dark';

export const THEME_KEY = 'ripcord.theme';
const CHOICES: ReadonlyArray<{ value: ThemeChoice; label: string }> = [
  { value: 'system', label: 'System' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

export function readThemeChoice(): ThemeChoice {
  try {
    const saved = localStorage.getItem(THEME_KEY);
    return saved === 'light' || saved === 'dark' ? saved : 'system';
  } catch {
    return 'system'; // storage blocked: the system decides
  }
}

export function applyThemeChoice(choice: ThemeChoice): void {
  if (choice === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = choice;
}

function saveThemeChoice(choice: ThemeChoice): void {
  try {
    if (choice === 'system') localStorage.removeItem(THEME_KEY);
    else localStorage.setItem(THEME_KEY, choice);
  } catch {
    // storage blocked: the choice holds for this page only
  }
  applyThemeChoice(choice);
}

/** The theme select (top bar and sign-in page); a choice made in another tab follows here too. */
export function ThemeSelect() {
  const [choice, setChoice] = useState<ThemeChoice>(readThemeChoice);
  useEffect(() => {
    const onStorage = (event: StorageEvent) => {
      if (event.key !== THEME_KEY && event.key !== null) return;
      const next = readThemeChoice();
      applyThemeChoice(next);
      setChoice(next);
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, []);
  return (
    <label className="theme-choice">
      Theme
      <select value={choice} onChange={(e) => { const next = e.target.value as ThemeChoice; saveThemeChoice(next); setChoice(next); }}>
        {CHOICES.map((c) => <option key={c.value} value={c.value}>{c.label}</option>)}
      </select>
    </label>
  );
}
