/**
 * What a job used, and what it asked for, in words, for the panel: `JobUsage.words()` and
 * `JobResources.words()` (jupyter_ext/schema/) in TypeScript, so the job page and the panel
 * say it alike.
 */
import type { IJobResources, IJobUsage } from './types';

/** 0.04 s, 3.4 s, 12.5 min, 3.1 h. */
export function secondsText(seconds: number): string {
  if (seconds < 0.1) {
    return `${seconds.toFixed(2)} s`;
  }
  if (seconds < 600) {
    return `${seconds.toFixed(1)} s`;
  }
  if (seconds < 36000) {
    return `${(seconds / 60).toFixed(1)} min`;
  }
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** 812 bytes, 1.1 MB, 52 MB, 3.4 GB (units of 1000). */
export function bytesText(count: number): string {
  if (count < 1000) {
    return `${count} bytes`;
  }
  let value = count;
  for (const unit of ['kB', 'MB', 'GB', 'TB', 'PB']) {
    value /= 1000;
    if (value < 999.5 || unit === 'PB') {
      return value < 9.95 ? `${value.toFixed(1)} ${unit}` : `${value.toFixed(0)} ${unit}`;
    }
  }
  return `${count} bytes`;
}

/** 'CPU 1.2 s · wall 3.4 s · peak memory 52 MB · wrote 1.1 MB'; unknown figures left out. */
export function usageText(usage: IJobUsage): string {
  const said: string[] = [];
  if (usage.cpu_seconds !== null && usage.cpu_seconds !== undefined) {
    said.push(`CPU ${secondsText(usage.cpu_seconds)}`);
  }
  said.push(`wall ${secondsText(usage.wall_seconds)}`);
  if (usage.peak_memory_bytes !== null && usage.peak_memory_bytes !== undefined) {
    said.push(`peak memory ${bytesText(usage.peak_memory_bytes)}`);
  }
  if (usage.bytes_written !== null && usage.bytes_written !== undefined) {
    said.push(`wrote ${bytesText(usage.bytes_written)}`);
  }
  return said.join(' · ');
}

/** '2 CPUs, 8 GB, 1 h 30 min'; what it did not ask for left out. */
export function resourcesText(resources: IJobResources): string {
  const said: string[] = [];
  if (resources.cpus !== null) {
    said.push(`${resources.cpus} CPU${resources.cpus === 1 ? '' : 's'}`);
  }
  if (resources.memory_mb !== null) {
    const mb = resources.memory_mb;
    said.push(mb >= 1024 && mb % 1024 === 0 ? `${mb / 1024} GB` : `${mb} MB`);
  }
  if (resources.time_limit !== null) {
    said.push(durationText(resources.time_limit));
  }
  return said.join(', ');
}

/** '2 h', '1 h 30 min', '45 s': a time limit as resources.yaml gave it. */
function durationText(seconds: number): string {
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const secs = whole % 60;
  const parts = [hours ? `${hours} h` : '', minutes ? `${minutes} min` : ''];
  parts.push(secs || !(hours || minutes) ? `${secs} s` : '');
  return parts.filter(Boolean).join(' ');
}
