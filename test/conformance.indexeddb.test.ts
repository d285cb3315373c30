// The IndexedDB adapter in Node, over fake-indexeddb; test/conformance.browser.test.ts runs the
// same suite in Chromium against the real thing.
import 'fake-indexeddb/auto';
import { describe, it } from 'vitest';
import { adapterConformance } from 'instance-plan/testing';
import { idbConformance } from './support/idb-harness';

adapterConformance({ ...idbConformance('IndexedDB adapter (fake-indexeddb)'), describe, it });
