/**
 * What features hand back to whoever ran the job, for one job: made by `assembleJob` (one per job, never a
 * module-level map keyed by job id) and returned with the assembled options. Today: the model registration the
 * registry feature starts when the job ends (it writes artifacts, so it is asynchronous and cannot run inside
 * the job's last hook); the caller awaits it before closing the database.
 */
import type { RegisteredModel } from '../../governance/registry/registry.ts';
import type { TesseraError } from '../../protocol/errors.ts';

export type RegistrationOutcome =
  | { readonly status: 'registered'; readonly model: RegisteredModel }
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'failed'; readonly error: TesseraError };

export class JobOutcomes {
  private registrationPromise: Promise<RegistrationOutcome> | undefined;

  /** Set once by the registry feature at the end of the job. */
  setRegistration(p: Promise<RegistrationOutcome>): void {
    this.registrationPromise = p;
  }

  /** The registration started at the end of the job (undefined when the registry feature was off). */
  registration(): Promise<RegistrationOutcome> | undefined {
    return this.registrationPromise;
  }
}
