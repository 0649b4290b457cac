import { bytesText, resourcesText, secondsText, usageText } from '../usage';

describe('usageText', () => {
  it('says what a job used as the job page does', () => {
    expect(
      usageText({
        cpu_seconds: 1.234,
        wall_seconds: 3.4,
        peak_memory_bytes: 52_000_000,
        bytes_written: 1_100_000
      })
    ).toBe('CPU 1.2 s · wall 3.4 s · peak memory 52 MB · wrote 1.1 MB');
  });

  it('leaves out what the executor could not know', () => {
    expect(
      usageText({ cpu_seconds: null, wall_seconds: 0.04, peak_memory_bytes: null, bytes_written: 0 })
    ).toBe('wall 0.04 s · wrote 0 bytes');
  });

  it('picks a unit that fits', () => {
    expect(secondsText(750)).toBe('12.5 min');
    expect(secondsText(11160)).toBe('186.0 min');
    expect(secondsText(40000)).toBe('11.1 h');
    expect(bytesText(200_000)).toBe('200 kB');
    expect(bytesText(3_400_000_000)).toBe('3.4 GB');
    expect(bytesText(999_999)).toBe('1.0 MB');
  });
});

describe('resourcesText', () => {
  it('says what an action asked for as JobResources.words() does', () => {
    expect(resourcesText({ cpus: 2, memory_mb: 8192, time_limit: 5400 })).toBe('2 CPUs, 8 GB, 1 h 30 min');
    expect(resourcesText({ cpus: 1, memory_mb: 1536, time_limit: null })).toBe('1 CPU, 1536 MB');
    expect(resourcesText({ cpus: null, memory_mb: null, time_limit: 45 })).toBe('45 s');
  });
});
