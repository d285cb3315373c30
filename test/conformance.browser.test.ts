// The conformance suite against the IndexedDB adapter in real Chromium: one database per test,
// a second adapter on the same name for the two-connection tests.
import { describe, it } from 'vitest';
import { adapterConformance } from 'instance-plan/testing';
import { idbConformance } from './support/idb-harness';

adapterConformance({ ...idbConformance('IndexedDB adapter (Chromium)'), describe, it });
