export { type EmbeddedMongo, type EmbeddedMongoOptions, startEmbeddedMongo, storeRefusal } from './server.js';
export { type FsyncMode, JournalCorruptError, JournalError, type JournalFiles, NODE_FILES } from './journal.js';
export { LOCK_FILE, StoreLockedError } from './lock.js';
