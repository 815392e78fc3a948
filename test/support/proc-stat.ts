/**
 * Reading /proc/<pid>/stat (and a thread's /proc/<pid>/task/<tid>/stat), for tests and benchmarks that
 * watch real processes.
 */

/**
 * The fields after the command name. The name (field 2) may hold spaces and ')', so they start after
 * the last ')'. Index 0 is the state (field 3 in proc(5)), index 1 the parent pid, and so on.
 */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
