/**
 * When the Chaos-Monkey may inject (pure; the clock is an argument): allowed days and hours in an IANA
 * time zone ("Mon-Fri 09:00-17:00 Europe/Rome"), a minimum gap between faults, at most N faults in
 * effect at once and a cap per day. Local time comes from Intl (the runtime's time-zone database), never
 * from offsets worked out by hand, so daylight-saving changes are the zone's own.
 */
import { InvalidInputError } from "../errors.js";
import { formatDuration } from "../util/duration.js";

const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;

export interface ChaosWindow {
  /** As the user wrote it. */
  text: string;
  /** Days it opens on, 0 = Sunday. */
  days: ReadonlySet<number>;
  /** Minutes after local midnight; `endMinute <= startMinute` wraps past midnight. */
  startMinute: number;
  endMinute: number;
  timeZone: string;
}

export interface PacingRules {
  /** None: any time. Several: open when any is. */
  windows: readonly ChaosWindow[];
  minGapMs?: number;
  /** Faults in effect at once, whoever started them; default 1. */
  maxConcurrent?: number;
  dailyCap?: number;
  /** Where a day starts for the daily cap: the first window's zone, else UTC. */
  capTimeZone?: string;
}

export interface PacingState {
  now: Date;
  /** Faults in effect now (any source). */
  inEffect: number;
  /** When the schedule injected recently (at least the last day's worth). */
  injectedAt: readonly Date[];
}

export type PacingVerdict = { allowed: true } | { allowed: false; reason: string };

/** Refuses what Intl does not know as a time zone. */
export function assertTimeZone(timeZone: string, where = "time zone"): string {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone }).resolvedOptions().timeZone;
  } catch {
    throw new InvalidInputError(
      `${where}: "${timeZone}" is not a known time zone`,
      'use an IANA name such as "Europe/Rome", "America/New_York" or "UTC"',
    );
  }
}

/** `Mon-Fri 09:00-17:00 Europe/Rome`; days as a range, a list (`Mon,Wed`) or `*`; the zone defaults to UTC. */
export function parseWindow(text: string): ChaosWindow {
  const hint = 'e.g. --window "Mon-Fri 09:00-17:00 Europe/Rome" (days, hours, IANA time zone)';
  const parts = text.trim().split(/\s+/);
  if (parts.length < 2 || parts.length > 3) {
    throw new InvalidInputError(`--window "${text}" is not "<days> <HH:MM-HH:MM> [time zone]"`, hint);
  }
  const [dayText, hoursText, zone = "UTC"] = parts as [string, string, string?];
  const days = parseDays(dayText, text, hint);
  const hours = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(hoursText);
  if (!hours) throw new InvalidInputError(`--window "${text}": "${hoursText}" is not HH:MM-HH:MM`, hint);
  const startMinute = minuteOfDay(Number(hours[1]), Number(hours[2]), text, hint);
  const endMinute = minuteOfDay(Number(hours[3]), Number(hours[4]), text, hint, true);
  if (startMinute === endMinute) {
    throw new InvalidInputError(`--window "${text}" opens and closes at the same minute`, hint);
  }
  return { text, days, startMinute, endMinute, timeZone: assertTimeZone(zone, `--window "${text}"`) };
}

function parseDays(dayText: string, text: string, hint: string): Set<number> {
  if (dayText === "*") return new Set([0, 1, 2, 3, 4, 5, 6]);
  const dayIndex = (name: string): number => {
    const i = DAY_NAMES.findIndex((d) => d.toLowerCase() === name.slice(0, 3).toLowerCase());
    if (i < 0 || name.length < 3) {
      throw new InvalidInputError(
        `--window "${text}": "${name}" is not a day (${DAY_NAMES.join(", ")})`,
        hint,
      );
    }
    return i;
  };
  const days = new Set<number>();
  for (const item of dayText.split(",")) {
    const range = item.split("-");
    if (range.length === 1) days.add(dayIndex(range[0]!));
    else if (range.length === 2) {
      // Mon-Fri, or Fri-Mon wrapping over the weekend.
      const from = dayIndex(range[0]!);
      const to = dayIndex(range[1]!);
      for (let d = from; ; d = (d + 1) % 7) {
        days.add(d);
        if (d === to) break;
      }
    } else throw new InvalidInputError(`--window "${text}": "${item}" is not a day range`, hint);
  }
  return days;
}

function minuteOfDay(h: number, m: number, text: string, hint: string, end = false): number {
  // 24:00 closes a window at midnight.
  if (end && h === 24 && m === 0) return 24 * 60;
  if (h > 23 || m > 59) throw new InvalidInputError(`--window "${text}": no such time of day`, hint);
  return h * 60 + m;
}

interface LocalTime {
  day: number;
  minute: number;
  /** YYYY-MM-DD in the zone. */
  date: string;
  /** HH:MM in the zone. */
  clock: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall clock in `timeZone` at `now`. */
export function localTime(now: Date, timeZone: string): LocalTime {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      weekday: "short",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(now).map((p) => [p.type, p.value]));
  const hour = Number(parts.hour) % 24;
  const minute = Number(parts.minute);
  return {
    day: DAY_NAMES.indexOf(parts.weekday as (typeof DAY_NAMES)[number]),
    minute: hour * 60 + minute,
    date: `${parts.year}-${parts.month}-${parts.day}`,
    clock: `${String(hour).padStart(2, "0")}:${parts.minute}`,
  };
}

export function isWindowOpen(window: ChaosWindow, now: Date): boolean {
  const t = localTime(now, window.timeZone);
  if (window.endMinute > window.startMinute) {
    return window.days.has(t.day) && t.minute >= window.startMinute && t.minute < window.endMinute;
  }
  // Past midnight: the evening part belongs to the day it opened, the morning part to the day before.
  return (
    (window.days.has(t.day) && t.minute >= window.startMinute) ||
    (window.days.has((t.day + 6) % 7) && t.minute < window.endMinute)
  );
}

export interface WindowState {
  open: boolean;
  windows: { window: string; open: boolean; localTime: string }[];
}

export function windowState(windows: readonly ChaosWindow[], now: Date): WindowState {
  const each = windows.map((w) => {
    const t = localTime(now, w.timeZone);
    return {
      window: w.text,
      open: isWindowOpen(w, now),
      localTime: `${DAY_NAMES[t.day]} ${t.clock} ${w.timeZone}`,
    };
  });
  return { open: !windows.length || each.some((w) => w.open), windows: each };
}

/** Injections the daily cap counts now: those on the same local date. */
export function injectedToday(rules: PacingRules, state: PacingState): number {
  const zone = rules.capTimeZone ?? rules.windows[0]?.timeZone ?? "UTC";
  const today = localTime(state.now, zone).date;
  return state.injectedAt.filter((at) => localTime(at, zone).date === today).length;
}

/** May the schedule inject at `state.now`, and if not, why (pure). */
export function pacingVerdict(rules: PacingRules, state: PacingState): PacingVerdict {
  if (rules.windows.length && !rules.windows.some((w) => isWindowOpen(w, state.now))) {
    return {
      allowed: false,
      reason: `outside the allowed window${rules.windows.length > 1 ? "s" : ""} (${rules.windows.map((w) => w.text).join("; ")})`,
    };
  }
  const maxConcurrent = rules.maxConcurrent ?? 1;
  if (state.inEffect >= maxConcurrent) {
    return {
      allowed: false,
      reason: `${state.inEffect} fault(s) in effect (at most ${maxConcurrent} at once)`,
    };
  }
  const last = Math.max(...state.injectedAt.map((d) => d.getTime()));
  if (rules.minGapMs && Number.isFinite(last) && state.now.getTime() - last < rules.minGapMs) {
    return {
      allowed: false,
      reason: `the last fault was ${formatDuration(state.now.getTime() - last)} ago (at least ${formatDuration(rules.minGapMs)} between faults)`,
    };
  }
  if (rules.dailyCap !== undefined) {
    const today = injectedToday(rules, state);
    if (today >= rules.dailyCap) {
      return { allowed: false, reason: `the daily cap is reached (${today} of ${rules.dailyCap} today)` };
    }
  }
  return { allowed: true };
}

/** Longest history the pacing rules need: a day for the cap (in any zone), else the gap. */
export const PACING_HISTORY_MS = 49 * 3_600_000;
