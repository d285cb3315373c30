// instance-plan/testing: what users need to test their own code against the library.

export { adapterConformance, type ConformanceOptions } from './conformance/suite';
export { ConformanceError } from './conformance/assert';
