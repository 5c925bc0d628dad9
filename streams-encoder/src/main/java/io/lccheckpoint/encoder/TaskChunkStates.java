package io.lccheckpoint.encoder;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;
import io.lccheckpoint.schema.kafka.Topics;

/**
 * The chunks of one encode task and where their states live (DESIGN.md §8, issue #12): each chunk's working state (ũ, r,
 * bookkeeping) in {@link EncodeProcessor#WORK_STORE}, a store without a changelog, written at every step; its book in the
 * changelogged {@link EncodeProcessor#STORE}, written at its anchors only. A working state missing (a new run of the task,
 * a fail-over) is rebuilt: each chunk at its anchor ({@link ChainRebuilder}), then the task's raw-delta records after
 * the anchors replayed through the processor ({@link Replayer}) with every output held back, passing over the records
 * refused for what the cluster looked like at the time ({@link #skip}). It also offers the {@link RawTrimmer} the raw
 * records no chunk here needs any more.
 */
final class TaskChunkStates {
    /** Key prefix of the offsets a replay passes over, per raw-delta topic (see {@link #skip}); chunk keys start with a job name, which cannot hold its first character. */
    static final String SKIPPED_KEY_PREFIX = "\u0001skipped\u0000";
    /** How often a task offers the raw-delta trimmer what its chunks no longer need, besides after every event. */
    static final long TRIM_OFFER_MS = 2000;

    /** Replays one raw-delta record of the task's partition, at {@code at}, for the chunks being rebuilt. */
    @FunctionalInterface
    interface Replayer {
        void replay(ConsumerRecord<byte[], byte[]> raw, RecordMetadata at, String job);
    }

    /** Where a replayed record was read, as the processor's record metadata. */
    private record ReadAt(String topic, int partition, long offset) implements RecordMetadata {
    }

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TaskChunkStates.class);

    private final KeyValueStore<String, byte[]> books;
    private final KeyValueStore<String, byte[]> work;
    private final Topics topics;
    private final ChainRebuilder rebuilder;
    private final ChainRebuilder.Logs logs;
    private final RawTrimmer trimmer;
    private final TaskHeartbeats heartbeats;
    private final String taskName;
    private final TaskId taskId;
    private final Replayer replayer;
    private boolean started;
    /** Per raw-delta topic of this task's partition, per chunk key: the first offset a rebuild of the chunk reads. */
    private final Map<String, Map<String, Long>> rawNeeded = new HashMap<>();
    private final Map<String, Long> lastTrimOffer = new HashMap<>();
    /** While a rebuild replays: the states being rebuilt (store key → state); outputs and store writes are held back. */
    private Map<String, ChunkRecordState> replaying;

    TaskChunkStates(KeyValueStore<String, byte[]> books, KeyValueStore<String, byte[]> work, Topics topics, ChainRebuilder rebuilder,
                    ChainRebuilder.Logs logs, RawTrimmer trimmer, TaskHeartbeats heartbeats, String taskName, TaskId taskId, Replayer replayer) {
        this.books = books;
        this.work = work;
        this.topics = topics;
        this.rebuilder = rebuilder;
        this.logs = logs;
        this.trimmer = trimmer;
        this.heartbeats = heartbeats;
        this.taskName = taskName;
        this.taskId = taskId;
        this.replayer = replayer;
    }

    /** Whether a rebuild is replaying: the processor then writes nothing but the states being rebuilt. */
    boolean replaying() {
        return replaying != null;
    }

    /** While replaying: the state of a chunk being rebuilt, or null if this chunk is not. */
    ChunkRecordState replayed(String key) {
        return replaying.get(key);
    }

    /** The bookkeeping of a chunk's working state (not its values), or null if there is none here. */
    ChunkRecordState bookkeeping(String key) {
        byte[] local = work.get(key);
        return local == null ? null : ChunkRecordState.bookkeeping(local);
    }

    /**
     * The first record since the task was (re)initialized: the local working states are dropped, and each chunk is
     * rebuilt from its book and the logs when it is first needed. What a local store holds after a restart cannot be
     * trusted: Streams may keep a task's local state after a crash (its changelogged stores carry the offsets they were
     * flushed at and are brought forward from their changelogs) and a store without a changelog then holds whatever
     * reached the disk, committed or not, from this run or from an earlier one on this host.
     */
    void startOnce() {
        if (started) {
            return;
        }
        started = true;
        rawNeeded.clear();
        List<String> stale = new ArrayList<>();
        try (var all = work.all()) {
            all.forEachRemaining(entry -> stale.add(entry.key));
        }
        stale.forEach(work::delete);
        if (!stale.isEmpty()) {
            LOG.info("task {}: dropped {} local chunk states left by an earlier run: chunks are rebuilt from the logs", taskId, stale.size());
        }
        try (var all = books.all()) {
            while (all.hasNext()) {
                var entry = all.next();
                if (entry.key.charAt(0) != SKIPPED_KEY_PREFIX.charAt(0)) {
                    String job = entry.key.substring(0, entry.key.indexOf('\u0000'));
                    rawNeeded.computeIfAbsent(topics.rawDeltas(job), topic -> new HashMap<>())
                            .put(entry.key, ChunkRecordState.bookkeeping(entry.value).rawNeededFrom());
                }
            }
        }
    }

    /** The chunk's working state: local, or rebuilt from its book and the logs (with every other chunk of its job here that needs it). */
    ChunkRecordState load(String key, String job, RecordMetadata source) {
        if (replaying != null) {
            return replaying.get(key);
        }
        byte[] local = work.get(key);
        if (local != null) {
            return ChunkRecordState.deserialize(local);
        }
        byte[] booked = books.get(key);
        if (booked == null) {
            return null;
        }
        ChunkRecordState book = ChunkRecordState.deserialize(booked);
        if (book.legacy) {
            // a full state from an encoder before issue #12, as of the last commit: every record of the chunk before this
            // one is in it (an earlier one would have loaded it already), so it is anchored just before this record
            book.legacy = false;
            book.approxInBook = true;
            book.anchorStep = book.lastStep;
            book.anchorOffset = source.offset() - 1;
            book.anchorResidual = book.residualOnTrainer ? ChunkRecordState.Residual.ON_TRAINER : ChunkRecordState.Residual.STORED;
            put(key, book);
            writeBook(key, job, book);
            return book;
        }
        rebuild(job, source);
        return ChunkRecordState.deserialize(work.get(key));
    }

    /**
     * Rebuilds the working state of every chunk of the job this task holds a book but no working state for (DESIGN.md §8):
     * each at its anchor ({@link ChainRebuilder}), then the task's raw-delta records after the anchors and before this one
     * replayed through the processor ({@link Replayer}), outputs held back. Those records were all processed, and committed, before this
     * one: the chain goes on exactly where it was.
     */
    private void rebuild(String job, RecordMetadata source) {
        long begun = System.nanoTime();
        Map<String, ChunkRecordState> wanted = new HashMap<>();
        try (var chunks = books.prefixScan(job + '\u0000', new org.apache.kafka.common.serialization.StringSerializer())) {
            while (chunks.hasNext()) {
                var entry = chunks.next();
                if (work.get(entry.key) == null) {
                    ChunkRecordState book = ChunkRecordState.deserialize(entry.value);
                    // a full state from an encoder before issue #12 needs no rebuild: its chunk's first record upgrades it (load)
                    if (!book.legacy) {
                        wanted.put(entry.key, book);
                    }
                }
            }
        }
        long[] read = new long[4];
        Map<String, ChunkRecordState> states = rebuilder.atAnchors(job, topics.checkpoints(job), wanted, read);
        long from = states.values().stream().mapToLong(ChunkRecordState::rawNeededFrom).min().orElse(source.offset());
        Set<Long> skipped = skipped(source.topic());
        replaying = states;
        try {
            logs.raw(new TopicPartition(source.topic(), source.partition()), from, source.offset(), raw -> {
                read[2]++;
                read[3] += raw.serializedKeySize() + Math.max(0, raw.serializedValueSize());
                heartbeats.beat(taskName);
                if (!skipped.contains(raw.offset())) {
                    replayer.replay(raw, new ReadAt(raw.topic(), raw.partition(), raw.offset()), job);
                }
                return true;
            });
        } finally {
            replaying = null;
        }
        states.forEach(this::put);
        LOG.info("task {}: rebuilt {} chunks of job {} in {} ms from {} records ({} bytes) of {} and {} records ({} bytes) of {}-{} from offset {}",
                taskId, states.size(), job, (System.nanoTime() - begun) / 1_000_000, read[0], read[1], topics.checkpoints(job),
                read[2], read[3], source.topic(), source.partition(), from);
    }

    /** A chunk's working state after a record (while a rebuild replays: into the states being rebuilt). */
    void put(String key, ChunkRecordState state) {
        if (replaying != null) {
            replaying.put(key, state);
        } else {
            work.put(key, state.serialize(ChunkRecordState.Form.WORK));
        }
    }

    /** Writes the chunk's book (at an anchor); returns its size. */
    long writeBook(String key, String job, ChunkRecordState state) {
        byte[] book = state.serialize(ChunkRecordState.Form.BOOK);
        books.put(key, book);
        rawNeeded.computeIfAbsent(topics.rawDeltas(job), topic -> new HashMap<>()).put(key, state.rawNeededFrom());
        // the raw records this chunk needs changed: the trimmer hears of it with this record, not at the next tick
        lastTrimOffer.remove(topics.rawDeltas(job));
        return book.length;
    }

    /**
     * A record refused for what the cluster was at the time (a missing topic), not for what it holds: a replay, which
     * would find the topic, must pass over it too. Kept per raw-delta topic as runs of offsets, from the oldest a
     * rebuild can read.
     */
    void skip(RecordMetadata source) {
        if (replaying != null) {
            return;
        }
        String key = SKIPPED_KEY_PREFIX + source.topic();
        long oldest = oldestRawNeeded(source.topic());
        StepRuns kept = new StepRuns();
        byte[] stored = books.get(key);
        if (stored != null) {
            StepRuns.readFrom(ByteBuffer.wrap(stored)).forEach(offset -> {
                if (offset >= oldest) {
                    kept.add(offset);
                }
            });
        }
        if (kept.last(-1) < source.offset()) {
            kept.add(source.offset());
        }
        ByteBuffer buffer = ByteBuffer.allocate(kept.serializedSize());
        kept.writeTo(buffer);
        books.put(key, buffer.array());
    }

    private Set<Long> skipped(String topic) {
        byte[] stored = books.get(SKIPPED_KEY_PREFIX + topic);
        Set<Long> offsets = new java.util.HashSet<>();
        if (stored != null) {
            StepRuns.readFrom(ByteBuffer.wrap(stored)).forEach(offsets::add);
        }
        return offsets;
    }

    /** Offers the trimmer the raw records of this partition that no chunk here needs any more (after anchors, else every few seconds). */
    void offerTrim(RecordMetadata source) {
        long now = System.currentTimeMillis();
        Long last = lastTrimOffer.get(source.topic());
        if (last != null && now - last < TRIM_OFFER_MS) {
            return;
        }
        lastTrimOffer.put(source.topic(), now);
        long below = Math.min(source.offset() + 1, oldestRawNeeded(source.topic()));
        trimmer.offer(new TopicPartition(source.topic(), source.partition()), below, source.offset() + 1);
    }

    /** The first raw-delta offset of this task's partition of the topic that a rebuild of any of its chunks reads (MAX_VALUE: none). */
    private long oldestRawNeeded(String topic) {
        long oldest = Long.MAX_VALUE;
        for (long needed : rawNeeded.getOrDefault(topic, Map.of()).values()) {
            oldest = Math.min(oldest, needed);
        }
        return oldest;
    }
}
