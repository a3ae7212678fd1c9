import { compareSample, type CompareJob, type CompareResult } from './compare-sample.js';

/** The comparison worker's task (piscina calls the default export with each job). */
export default function compare(job: CompareJob): CompareResult {
  return compareSample(job);
}
