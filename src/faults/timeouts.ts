/**
 * Every bound on engine work that holds or undoes a fault, in one table: how long faultline waits for a
 * helper, a revert or a dead-man switch's margin. Tuning one (a slow engine, a loaded host) is one edit,
 * and the bounds can be read against each other (a revert's bound must exceed its agent's stop bound).
 */
export const FAULT_TIMEOUTS = {
  /** One revert as the runner and the recovery see it, on top of each family's own bound. */
  revertMs: 60_000,
  /** The engine calls of one lifecycle revert (unpause/start are quick; start may wait on the runtime). */
  lifecycleRevertMs: 30_000,
  /** A lifecycle change itself, beyond the stop timeout the user gave. */
  lifecycleApplyMarginMs: 30_000,
  /** A network agent reporting its rules in effect. */
  agentReadyMs: 15_000,
  /** A network agent removing its rules once told to stop. */
  agentStopMs: 15_000,
  /** Opening an agent's log stream before its first line. */
  agentFollowOpenMs: 2_000,
  /** A stopped agent's container being removed. */
  agentRemovalMs: 10_000,
  /** A one-shot cleanup agent, before it is killed. */
  cleanupAgentMs: 30_000,
  /** Beyond `cleanupAgentMs`, before another faultline's sweep may take a cleanup agent for stale. */
  cleanupAgentSlackMs: 10_000,
  /** stress-ng failing fast on bad arguments or a refused cgroup. */
  stressStartupCheckMs: 400,
  /** stress-ng stopping its workers after SIGINT. */
  stressStopGraceMs: 5_000,
  /** A dead-man switch fires this long after the deadline, so a revert on time always wins the race. */
  watchdogGraceMs: 5_000,
  /** Same margin for a network agent's own expiry. */
  deadmanGraceMs: 5_000,
} as const;
