package io.lccheckpoint.encoder;

import io.lccheckpoint.codec.BadValueException;
import io.lccheckpoint.codec.ChunkDecoder;
import io.lccheckpoint.codec.CodecException;
import io.lccheckpoint.codec.ValueType;
import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.schema.ChunkKey;
import io.lccheckpoint.schema.ChunkStateHandover;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.DeadLetter;
import io.lccheckpoint.schema.EncodedChunkRecord;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.RemainingStages;
import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.StepDigest;
import io.lccheckpoint.schema.StepManifest;
import io.lccheckpoint.schema.SuperstepChunk;
import io.lccheckpoint.schema.kafka.Topics;
import io.lccheckpoint.schema.kafka.WireFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.metrics.Sensor;
import org.apache.kafka.common.metrics.stats.CumulativeSum;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Codes each raw chunk (DESIGN.md §2-§4): keeps the chunk's residual and reconstruction in a local state store, writes the
 * encoded chunk, a superstep when the step crosses a multiple of the interval (and always at a generation's initial
 * state), tombstones what retention no longer needs, and tells the completion processor. Anything it cannot use goes
 * to the job's dead-letter topic with the reason; the state is left untouched and the app goes on.
 *
 * <p>The split (DESIGN.md §6): a chunk the trainer already coded ({@code remaining = NONE}) is checked, applied to the
 * reconstruction (for supersteps) and stored as it came; the trainer then holds the residual. A raw delta asking for a
 * {@code handover} is coded here and the chunk's state is handed to the trainer; a raw delta after coded ones must carry
 * the trainer's residual folded in. Whichever side codes, the chain is the same bytes.
 *
 * <p>What it stores (DESIGN.md §8, issue #12): each chunk's working state (ũ, r, bookkeeping) goes to {@link #WORK_STORE}
 * at every step, a store without a changelog; its book ({@link ChunkRecordState.Form#BOOK}: bookkeeping, and the residual
 * while the encoder holds it) goes to the changelogged {@link #STORE} only at the chunk's anchors: its initial state, its
 * supersteps and the books {@link SuperstepPolicy} asks for between them. An instance that takes over a task rebuilds the working states ({@link #rebuild}): each chunk's state
 * at its anchor (the book, and ũ from the anchor's superstep), then the raw-delta records after it, replayed through this
 * same code with every output held back. A local store is trusted only by the run of the task that wrote it ({@link #start}).
 */
final class EncodeProcessor implements Processor<byte[], byte[], byte[], byte[]> {
    /** The chunks' books: changelogged, written only at a chunk's anchors. */
    static final String STORE = "lcckpt-chunk-state";
    /** The chunks' working states: local, no changelog, written at every step. */
    static final String WORK_STORE = "lcckpt-chunk-work";
    /** Key prefix of the offsets a replay passes over, per raw-delta topic (see {@link #skip}); chunk keys start with a job name, which cannot hold its first character. */
    static final String SKIPPED_KEY_PREFIX = "\u0001skipped\u0000";
    /** How often a task offers the raw-delta trimmer what its chunks no longer need, besides after every event. */
    static final long TRIM_OFFER_MS = 2000;
    static final long KIND_ENCODED = 0;
    static final long KIND_SUPERSTEP = 1;

    private final Topics topics;
    private final CodecOptions codecOptions;
    private final SuperstepPolicy policy;
    private final WireFormat wire;

    private ProcessorContext<byte[], byte[]> context;
    private KeyValueStore<String, byte[]> books;
    private KeyValueStore<String, byte[]> work;
    private boolean started;
    /** Per raw-delta topic of this task's partition, per chunk key: the first offset a rebuild of the chunk reads. */
    private final Map<String, Map<String, Long>> rawNeeded = new HashMap<>();
    private final Map<String, Long> lastTrimOffer = new HashMap<>();
    private ChunkEncoder encoder;
    private final ChunkDecoder decoder = new ChunkDecoder();
    private Sensor deadLetters;
    /** The time the record being processed stamps on its outputs. */
    private long stamp;
    /** min(stamp, the record's own timestamp): what a superstep or an anchor of this record is stamped with, for seeks. */
    private long seekStamp;
    /** Set by {@link #deadLetter}: the record being handled was refused. */
    private boolean refused;
    /** The records notices point at, on the checkpoint topic. */
    private StoredRecords stored;
    private ChainRebuilder.PositionReader positions;
    /**
     * Per job, the last manifest this task wrote: {generation, step, stamp}. A step's manifest is written before its
     * chunks, so when they come through the same task (one partition) the step's start time is the manifest's: a
     * pushdown restore of exactly that step finds it. Held in memory only (after a restart, or with the manifest on another
     * partition's task, the restorer's seek margin covers the few milliseconds between them).
     */
    private final Map<String, ManifestStamp> manifestStamps = new HashMap<>();

    /** When this task read a job's latest manifest (a step's start time may be that, when the same task coded its chunks). */
    private record ManifestStamp(long generation, long step, long stamp) {
    }

    private final WorkingMemory working;
    private final TopicCheck topicCheck;
    private final TaskHeartbeats heartbeats;
    private final ChainRebuilder.Logs logs;
    private final RawTrimmer trimmer;
    private ChainRebuilder rebuilder;
    /** While a rebuild replays: the states being rebuilt (store key → state); outputs and store writes are held back. */
    private Map<String, ChunkRecordState> replaying;
    private String taskName;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(EncodeProcessor.class);

    /**
     * A dead letter keeps the record it is about whole up to this many bytes, and the first this many bytes of a larger one:
     * the raw-delta topic is trimmed, so the dead letter is the evidence (issue #12). It leaves room below the record size
     * the job's topics take ({@link EncoderSettings#MAX_RECORD_BYTES_CONFIG}) for the rest of the dead letter.
     */
    static int deadLetterRecordLimit(int maxRecordBytes) {
        return maxRecordBytes - (16 << 10);
    }

    private final int deadLetterLimit;

    EncodeProcessor(Topics topics, WireFormat wire, CodecOptions codecOptions, SuperstepPolicy policy, WorkingMemory working,
                    TopicCheck topicCheck, TaskHeartbeats heartbeats, ChainRebuilder.Logs logs, RawTrimmer trimmer, int maxRecordBytes) {
        this.deadLetterLimit = deadLetterRecordLimit(maxRecordBytes);
        this.working = working;
        this.logs = logs;
        this.trimmer = trimmer;
        this.topicCheck = topicCheck;
        this.heartbeats = heartbeats;
        this.topics = topics;
        this.wire = wire;
        this.codecOptions = codecOptions;
        this.policy = policy;
    }

    @Override
    public void init(ProcessorContext<byte[], byte[]> context) {
        this.context = context;
        this.books = context.getStateStore(STORE);
        this.started = false;
        this.work = context.getStateStore(WORK_STORE);
        this.encoder = new ChunkEncoder(codecOptions);
        this.taskName = heartbeats.watch(context, "encode");
        String beatAs = taskName;
        this.rebuilder = new ChainRebuilder(logs, wire, () -> heartbeats.beat(beatAs));
        this.positions = logs.positionReader();
        this.stored = new StoredRecords(topics, wire, positions);
        this.deadLetters = context.metrics().addSensor("lcckpt-dead-letters-" + context.taskId(), Sensor.RecordingLevel.INFO);
        deadLetters.add(new MetricName("dead-letters-total", "lcckpt-encoder", "Records sent to a dead-letter topic",
                Map.of("task-id", context.taskId().toString())), new CumulativeSum());
        Map<String, String> tags = Map.of("task-id", context.taskId().toString());
        memoryGauge(context, "memory-in-use-bytes", "Bytes of the memory budget held by chunks being coded (the instance's pool)", tags, working::inUse);
        memoryGauge(context, "memory-peak-bytes", "Most bytes of the pool held at once", tags, working::peak);
        memoryGauge(context, "memory-waits-total", "Chunks that waited for memory", tags, working::waits);
        memoryGauge(context, "memory-overruns-total", "Chunks that went on after waiting the longest allowed (the budget was exceeded)", tags, working::overruns);
    }

    private static void memoryGauge(ProcessorContext<byte[], byte[]> context, String name, String description, Map<String, String> tags,
                                    java.util.function.LongSupplier value) {
        Sensor sensor = context.metrics().addSensor("lcckpt-" + name + "-" + context.taskId(), Sensor.RecordingLevel.INFO);
        sensor.add(new MetricName(name, "lcckpt-encoder", description, tags), new org.apache.kafka.common.metrics.MeasurableStat() {
            @Override
            public void record(org.apache.kafka.common.metrics.MetricConfig config, double ignored, long now) {
            }

            @Override
            public double measure(org.apache.kafka.common.metrics.MetricConfig config, long now) {
                return value.getAsLong();
            }
        });
    }

    @Override
    public void close() {
        heartbeats.remove(taskName);
        positions.close();
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        // every output of this record carries the clock read once, here, before the first: so the step's start time in
        // its progress notice is never later than any of its records (restore pushdown seeks to it)
        stamp = System.currentTimeMillis();
        // where a restore or a rebuild seeks for what this record starts: never after the trainer's records of later steps,
        // which a trainer coding its own chunks writes to the checkpoint topic itself, stamped with its own clock
        seekStamp = Math.min(stamp, record.timestamp());
        if (!started) {
            start();
        }
        RecordMetadata source = context.recordMetadata().orElseThrow();
        String job = topics.jobOf(source.topic());
        String missing = missingTopics(job);
        if (missing != null) {
            deadLetter(record, source, job, null, missing);
            skip(source);
            return;
        }
        SpecificRecord value;
        try {
            if (record.value() == null) {
                throw new SerializationException("null value");
            }
            value = wire.decode(record.value());
        } catch (SerializationException e) {
            deadLetter(record, source, job, null, "undecodable record: " + e.getMessage());
            return;
        }
        String badKey = checkKey(record.key(), value, job);
        if (badKey != null) {
            deadLetter(record, source, job, value instanceof RawDeltaChunk chunk ? chunk : null, badKey);
            return;
        }
        if (value instanceof StepManifest manifest) {
            String altered = StepDigest.checkManifest(manifest);
            if (altered != null) {
                deadLetter(record, source, job, null, altered);
                return;
            }
            if (!manifest.getJob().equals(job)) {
                deadLetter(record, source, job, null, "manifest names job " + manifest.getJob() + " but came on job " + job + "'s topic");
                return;
            }
            Outputs.checkpoint(context, wire, stamp,
                    Outputs.key(job, RecordKind.MANIFEST, "", -1, manifest.getGeneration(), manifest.getStep()), manifest);
            manifestStamps.put(job, new ManifestStamp(manifest.getGeneration(), manifest.getStep(), stamp));
        } else if (value instanceof RawDeltaChunk chunk) {
            int width = chunk.getDtype() == DType.FLOAT64 ? 8 : 4;
            int values = chunk.getRemaining() == RemainingStages.NONE ? chunk.getValues().remaining() / 2 : chunk.getValues().remaining() / width;
            long taken;
            try {
                taken = working.acquire(WorkingMemory.cost(values, width == 8));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new org.apache.kafka.streams.errors.StreamsException("interrupted while waiting for memory", e);
            }
            try {
                handle(record, source, job, chunk);
            } finally {
                working.release(taken);
            }
            offerTrim(source);
        } else {
            deadLetter(record, source, job, null, "unexpected record type " + value.getSchema().getName() + " on a raw-delta topic");
        }
    }

    /**
     * The first record since the task was (re)initialized: the local working states are dropped, and each chunk is
     * rebuilt from its book and the logs when it is first needed. What a local store holds after a restart cannot be
     * trusted: Streams may keep a task's local state after a crash (its changelogged stores carry the offsets they were
     * flushed at and are brought forward from their changelogs) and a store without a changelog then holds whatever
     * reached the disk, committed or not, from this run or from an earlier one on this host.
     */
    private void start() {
        started = true;
        rawNeeded.clear();
        List<String> stale = new ArrayList<>();
        try (var all = work.all()) {
            all.forEachRemaining(entry -> stale.add(entry.key));
        }
        stale.forEach(work::delete);
        if (!stale.isEmpty()) {
            LOG.info("task {}: dropped {} local chunk states left by an earlier run: chunks are rebuilt from the logs", context.taskId(), stale.size());
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
    private ChunkRecordState load(String key, String job, RecordMetadata source) {
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
            putWork(key, book);
            writeBook(key, job, book);
            return book;
        }
        rebuild(job, source);
        return ChunkRecordState.deserialize(work.get(key));
    }

    /**
     * Rebuilds the working state of every chunk of the job this task holds a book but no working state for (DESIGN.md §8):
     * each at its anchor ({@link ChainRebuilder}), then the task's raw-delta records after the anchors and before this one
     * replayed through {@link #handle}, outputs held back. Those records were all processed, and committed, before this
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
            logs.raw(new org.apache.kafka.common.TopicPartition(source.topic(), source.partition()), from, source.offset(), raw -> {
                read[2]++;
                read[3] += raw.serializedKeySize() + Math.max(0, raw.serializedValueSize());
                heartbeats.beat(taskName);
                if (!skipped.contains(raw.offset())) {
                    replay(raw, job);
                }
                return true;
            });
        } finally {
            replaying = null;
        }
        states.forEach(this::putWork);
        LOG.info("task {}: rebuilt {} chunks of job {} in {} ms from {} records ({} bytes) of {} and {} records ({} bytes) of {}-{} from offset {}",
                context.taskId(), states.size(), job, (System.nanoTime() - begun) / 1_000_000, read[0], read[1], topics.checkpoints(job),
                read[2], read[3], source.topic(), source.partition(), from);
    }

    /** One raw-delta record, replayed for the chunks being rebuilt (others, and records at or before a chunk's anchor, pass). */
    private void replay(org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> raw, String job) {
        if (raw.key() == null || raw.value() == null) {
            return;
        }
        SpecificRecord value;
        try {
            value = wire.decode(raw.value());
        } catch (SerializationException e) {
            return;
        }
        if (!(value instanceof RawDeltaChunk chunk) || checkKey(raw.key(), value, job) != null || !chunk.getJob().equals(job)) {
            return;
        }
        ChunkRecordState state = replaying.get(chunkKey(job, chunk));
        if (state == null || raw.offset() <= state.anchorOffset) {
            return;
        }
        RecordMetadata at = new RecordMetadata() {
            @Override
            public String topic() {
                return raw.topic();
            }

            @Override
            public int partition() {
                return raw.partition();
            }

            @Override
            public long offset() {
                return raw.offset();
            }
        };
        handle(new Record<>(raw.key(), raw.value(), raw.timestamp()), at, job, chunk);
    }

    private void putWork(String key, ChunkRecordState state) {
        if (replaying != null) {
            replaying.put(key, state);
        } else {
            work.put(key, state.serialize(ChunkRecordState.Form.WORK));
        }
    }

    /** Writes the chunk's book (at an anchor); returns its size. */
    private long writeBook(String key, String job, ChunkRecordState state) {
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
    private void skip(RecordMetadata source) {
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
    private void offerTrim(RecordMetadata source) {
        long now = System.currentTimeMillis();
        Long last = lastTrimOffer.get(source.topic());
        if (last != null && now - last < TRIM_OFFER_MS) {
            return;
        }
        lastTrimOffer.put(source.topic(), now);
        long below = Math.min(source.offset() + 1, oldestRawNeeded(source.topic()));
        trimmer.offer(new org.apache.kafka.common.TopicPartition(source.topic(), source.partition()), below, source.offset() + 1);
    }

    /** The first raw-delta offset of this task's partition of the topic that a rebuild of any of its chunks reads (MAX_VALUE: none). */
    private long oldestRawNeeded(String topic) {
        long oldest = Long.MAX_VALUE;
        for (long needed : rawNeeded.getOrDefault(topic, Map.of()).values()) {
            oldest = Math.min(oldest, needed);
        }
        return oldest;
    }

    private void handle(Record<byte[], byte[]> record, RecordMetadata source, String job, RawDeltaChunk chunk) {
        refused = false;
        handleChunk(record, source, job, chunk);
        if (refused && chunk.getStoredAt() != null && replaying == null && chunk.getJob().equals(job)) {
            discardStray(job, chunk);
        }
    }

    /**
     * A refused notice's coded chunk is on the checkpoint topic already, written by the trainer: a tombstone removes it,
     * unless its key is also the key of a record of the chain (a duplicate step), which the tombstone would remove too.
     */
    private void discardStray(String job, RawDeltaChunk chunk) {
        // the bookkeeping is enough: the chunk's values (ũ and r, the chunk's size twice) are not read
        byte[] local = work.get(chunkKey(job, chunk));
        ChunkRecordState state = local == null ? null : ChunkRecordState.bookkeeping(local);
        long generation = chunk.getGeneration();
        long step = chunk.getStep();
        boolean initial = chunk.getInitial();
        if (!ChainRules.inChain(state, generation, step, initial)) {
            tombstone(stamp, job, chunk, initial ? RecordKind.SUPERSTEP_CHUNK : RecordKind.ENCODED_CHUNK, generation, step);
        }
    }

    /** A chunk's key in the books and working states. */
    private static String chunkKey(String job, RawDeltaChunk chunk) {
        return job + '\u0000' + chunk.getTensor() + '\u0000' + chunk.getChunk();
    }

    private void handleChunk(Record<byte[], byte[]> record, RecordMetadata source, String job, RawDeltaChunk chunk) {
        ChainRules.Refusal refusal = ChainRules.checkRecord(chunk, job);
        if (refusal != null) {
            deadLetter(record, source, job, chunk, refusal.reason());
            return;
        }
        boolean coded = chunk.getRemaining() == RemainingStages.NONE;
        boolean notice = chunk.getStoredAt() != null;
        int width = ChainRules.width(chunk.getDtype());
        ByteBuffer bytes = chunk.getValues().order(ByteOrder.LITTLE_ENDIAN);
        int n = coded ? -1 : bytes.remaining() / width;
        String key = chunkKey(job, chunk);
        ChunkRecordState state = load(key, job, source);
        long generation = chunk.getGeneration();
        long step = chunk.getStep();

        if (chunk.getInitial()) {
            refusal = ChainRules.checkInitial(chunk, state);
            if (refusal != null) {
                deadLetter(record, source, job, chunk, refusal.reason());
                return;
            }
            SuperstepChunk storedInitial = null;
            if (notice) {
                // the trainer wrote the initial state to the checkpoint topic as the superstep the encoder would have written
                if (replaying != null) {
                    throw new IllegalStateException("a rebuild of job " + job + " tensor " + chunk.getTensor() + " chunk " + chunk.getChunk()
                            + " replayed an initial state at step " + step + ", but its book's anchor is before it: the book and the logs disagree");
                }
                StoredRecords.Found<SuperstepChunk> found = stored.initial(job, chunk);
                if (found.value() == null) {
                    deadLetter(record, source, job, chunk, found.refusal());
                    return;
                }
                storedInitial = found.value();
                bytes = storedInitial.getValues().duplicate().order(ByteOrder.LITTLE_ENDIAN);
                n = bytes.remaining() / width;
            }
            ChunkRecordState fresh = new ChunkRecordState();
            fresh.generation = generation;
            fresh.lastStep = step;
            fresh.lastSuperstep = step;
            fresh.dtype = chunk.getDtype();
            fresh.size = n;
            fresh.chunk = ChunkState.initial(valueType(chunk.getDtype()), bytes);
            // both sides hold the initial state and a zero residual: a trainer that codes from the next step needs no handover
            fresh.residualOnTrainer = chunk.getHandover();
            fresh.supersteps.add(new ChunkRecordState.Superstep(step, seekStamp));
            if (state != null) {
                // the older generation stays restorable until this one keeps its full set of supersteps
                fresh.older.addAll(state.older);
                fresh.older.add(new ChunkRecordState.OlderGeneration(state.generation,
                        state.supersteps.stream().map(ChunkRecordState.Superstep::step).toList(), state.encodedSteps));
            }
            // one hash of the initial state serves the superstep (or checks the trainer's), the anchor and the step's digest
            long checksum = fresh.chunk.approxChecksum();
            if (storedInitial != null && checksum != storedInitial.getChecksum()) {
                deadLetter(record, source, job, chunk, "the initial state at " + stored.where(job, chunk.getStoredAt()) + " fails its checksum");
                return;
            }
            long superstepBytes = notice ? (long) n * width : writeSuperstep(stamp, job, chunk, fresh, checksum);
            anchor(fresh, fresh.residualOnTrainer ? ChunkRecordState.Residual.ON_TRAINER : ChunkRecordState.Residual.ZERO, source, false, checksum);
            save(key, fresh, record, job, chunk, superstepBytes, true, n * (long) width, true, checksum);
            return;
        }

        refusal = ChainRules.checkDelta(chunk, state);
        if (refusal != null) {
            deadLetter(record, source, job, chunk, refusal.reason());
            return;
        }
        // (a replay passes over the records refused here: see skip)
        if (!coded && chunk.getHandover() && replaying == null && !topicCheck.exists(topics.handover(job))) {
            deadLetter(record, source, job, chunk, "a handover to the trainer was asked for, but topic " + topics.handover(job) + " does not exist");
            skip(source);
            return;
        }
        byte[] encoded = coded ? acceptCoded(record, source, job, chunk, key, state, bytes) : codeRaw(record, source, job, chunk, key, state, bytes, n);
        if (encoded == null) {
            return;
        }
        if (replaying == null && chunk.getStoredAt() == null) {
            Outputs.checkpoint(context, wire, stamp, Outputs.key(job, RecordKind.ENCODED_CHUNK, chunk.getTensor(), chunk.getChunk(), generation, step),
                    new EncodedChunkRecord(job, generation, step, chunk.getTensor(), chunk.getChunk(), ByteBuffer.wrap(encoded), state.lastStep));
        }
        long encodedBytes = encoded.length;
        // the XXH64 of ũ after this step, which the record carries (this codec wrote it, or apply checked it): the
        // superstep, the anchor and the step's digest use it instead of hashing the state again
        long checksum = ChunkDecoder.stateChecksum(encoded);
        state.lastStep = step;
        state.encodedSteps.add(step);
        state.codedSinceSuperstep += encoded.length;
        boolean superstep = policy.superstepAt(state, step, width);
        if (superstep) {
            state.codedSinceSuperstep = 0;
            state.lastSuperstep = step;
            state.supersteps.add(new ChunkRecordState.Superstep(step, seekStamp));
            encodedBytes += writeSuperstep(stamp, job, chunk, state, checksum);
            applyRetention(stamp, job, chunk, state);
        }
        if (!coded && chunk.getHandover()) {
            handOver(stamp, job, chunk, state);
        }
        boolean booked = superstep;
        if (superstep) {
            anchor(state, state.residualOnTrainer ? ChunkRecordState.Residual.ON_TRAINER : ChunkRecordState.Residual.STORED, source, false, checksum);
        } else if (policy.bookAt(state, step)) {
            if (replaying != null) {
                throw new IllegalStateException("a rebuild of job " + job + " tensor " + chunk.getTensor() + " chunk " + chunk.getChunk()
                        + " replayed the book due at step " + step + ", but its book's anchor is before it: the book and the logs disagree");
            }
            // ũ and r into the book: a rebuild starts here, and the raw records before this one can go
            anchor(state, ChunkRecordState.Residual.STORED, source, true, checksum);
            booked = true;
        }
        save(key, state, record, job, chunk, encodedBytes, superstep, state.size() * (long) width, booked, checksum);
    }

    /**
     * The chunk's new anchor: this record; ũ there is in the superstep just written, or in the book ({@code approxInBook}).
     * A rebuild starts from it.
     */
    private void anchor(ChunkRecordState state, ChunkRecordState.Residual residual, RecordMetadata source, boolean approxInBook, long checksum) {
        state.approxInBook = approxInBook;
        state.anchorStep = state.lastStep;
        state.anchorOffset = source.offset();
        state.anchorStamp = seekStamp;
        state.anchorChecksum = checksum;
        state.anchorResidual = residual;
    }

    /** split=storage: codes the raw delta with the chunk's state; null (after a dead letter) if it cannot. */
    private byte[] codeRaw(Record<byte[], byte[]> record, RecordMetadata source, String job, RawDeltaChunk chunk, String key,
                           ChunkRecordState state, ByteBuffer bytes, int n) {
        ChainRules.Refusal refusal = ChainRules.checkRaw(chunk, state, n);
        if (refusal != null) {
            refuse(record, source, job, chunk, key, state, refusal);
            return null;
        }
        if (state.residualOnTrainer) {
            // the values are delta + the trainer's residual; adding -0.0 leaves every value as it is, so the encoder's
            // "delta + residual" is exactly what the trainer would have coded
            if (state.dtype == DType.FLOAT32) {
                java.util.Arrays.fill(state.chunk.residualFloat(), -0.0f);
            } else {
                java.util.Arrays.fill(state.chunk.residualDouble(), -0.0);
            }
            state.residualOnTrainer = false;
        }
        try {
            return encoder.encodeLittleEndian(bytes, state.chunk).record();
        } catch (BadValueException e) {
            // a poisoned step: not coded, residual untouched (the codec guarantees it), the chain of this chunk stops here
            poison(record, source, job, chunk, key, state, "poisoned step: " + e.getMessage());
            return null;
        }
    }

    /** split=trainer: checks the trainer's record and applies it to the reconstruction; null (after a dead letter) if unusable. */
    private byte[] acceptCoded(Record<byte[], byte[]> record, RecordMetadata source, String job, RawDeltaChunk chunk, String key,
                               ChunkRecordState state, ByteBuffer bytes) {
        ChainRules.Refusal refusal = ChainRules.checkCoded(chunk, state, codecOptions.describe());
        if (refusal != null) {
            refuse(record, source, job, chunk, key, state, refusal);
            return null;
        }
        byte[] coded;
        if (chunk.getStoredAt() == null) {
            coded = new byte[bytes.remaining()];
            bytes.duplicate().get(coded);
        } else {
            StoredRecords.Found<byte[]> found = stored.chunk(job, chunk, state);
            if (found.value() == null) {
                poison(record, source, job, chunk, key, state, found.refusal());
                return null;
            }
            coded = found.value();
        }
        try {
            ChunkDecoder.RecordInfo info = ChunkDecoder.inspect(coded);
            ValueType type = valueType(state.dtype);
            if (info.type() != type || info.valueCount() != state.size()) {
                poison(record, source, job, chunk, key, state, "coded chunk holds " + info.valueCount() + " " + info.type() + " values but the chunk has "
                        + state.size() + " " + type);
                return null;
            }
            // into a fresh array first: on a corrupt record the reconstruction stays as it was
            if (state.dtype == DType.FLOAT32) {
                float[] next = new float[state.size()];
                decoder.apply(coded, state.chunk.approxFloat(), next);
                System.arraycopy(next, 0, state.chunk.approxFloat(), 0, next.length);
            } else {
                double[] next = new double[state.size()];
                decoder.apply(coded, state.chunk.approxDouble(), next);
                System.arraycopy(next, 0, state.chunk.approxDouble(), 0, next.length);
            }
            return coded;
        } catch (CodecException e) {
            poison(record, source, job, chunk, key, state, "unusable coded chunk: " + e.getMessage());
            return null;
        }
    }

    private void refuse(Record<byte[], byte[]> record, RecordMetadata source, String job, RawDeltaChunk chunk, String key, ChunkRecordState state,
                        ChainRules.Refusal refusal) {
        if (refusal.poisons()) {
            poison(record, source, job, chunk, key, state, refusal.reason());
        } else {
            deadLetter(record, source, job, chunk, refusal.reason());
        }
    }

    /** The chain of this chunk cannot go on from this record: it stops here until a resume starts a new generation. */
    private void poison(Record<byte[], byte[]> record, RecordMetadata source, String job, RawDeltaChunk chunk, String key, ChunkRecordState state,
                        String reason) {
        state.poisonedAt = chunk.getStep();
        // not a book write: a rebuild replays this record and poisons the chain again
        putWork(key, state);
        deadLetter(record, source, job, chunk, reason);
    }

    /** split switch storage → trainer: the chunk's state after this step goes to the trainer, which codes from the next step. */
    private void handOver(long timestamp, String job, RawDeltaChunk chunk, ChunkRecordState state) {
        if (replaying != null) {
            state.residualOnTrainer = true;
            return;
        }
        state.residualOnTrainer = true;
        Outputs.handover(context, wire, timestamp, new ChunkKey(job, chunk.getTensor(), chunk.getChunk()),
                new ChunkStateHandover(job, state.generation, chunk.getStep(), chunk.getTensor(), chunk.getChunk(), state.dtype,
                        state.chunk.approxLittleEndian(), state.chunk.residualLittleEndian(), state.chunk.approxChecksum()));
    }

    /** Drops supersteps beyond the retained count and tombstones the records only they needed (DESIGN.md §4). */
    private void applyRetention(long timestamp, String job, RawDeltaChunk chunk, ChunkRecordState state) {
        for (ChainRules.Dropped dropped : ChainRules.applyRetention(state, policy.retain())) {
            tombstone(timestamp, job, chunk, dropped.kind(), dropped.generation(), dropped.step());
        }
    }

    private void tombstone(long timestamp, String job, RawDeltaChunk chunk, RecordKind kind, long generation, long step) {
        Outputs.checkpoint(context, wire, timestamp, Outputs.key(job, kind, chunk.getTensor(), chunk.getChunk(), generation, step), null);
    }

    private long writeSuperstep(long timestamp, String job, RawDeltaChunk chunk, ChunkRecordState state, long checksum) {
        if (replaying != null) {
            // a superstep writes the chunk's book, so the anchor a replay starts from is never before one
            throw new IllegalStateException("a rebuild of job " + job + " tensor " + chunk.getTensor() + " chunk " + chunk.getChunk()
                    + " replayed a superstep at step " + chunk.getStep() + ", but its book's anchor is before it: the book and the logs disagree");
        }
        ByteBuffer values = state.chunk.approxLittleEndian();
        Outputs.checkpoint(context, wire, timestamp, Outputs.key(job, RecordKind.SUPERSTEP_CHUNK, chunk.getTensor(), chunk.getChunk(), state.generation, state.lastStep),
                new SuperstepChunk(job, state.generation, state.lastStep, chunk.getTensor(), chunk.getChunk(), state.dtype, values, checksum));
        return values.capacity();
    }

    private void save(String key, ChunkRecordState state, Record<byte[], byte[]> record, String job, RawDeltaChunk chunk,
                      long encodedBytes, boolean superstep, long rawBytes, boolean anchored, long checksum) {
        putWork(key, state);
        if (replaying != null) {
            return;
        }
        long booked = anchored ? writeBook(key, job, state) : 0;
        ManifestStamp manifest = manifestStamps.get(job);
        long start = manifest != null && manifest.generation() == chunk.getGeneration() && manifest.step() == chunk.getStep()
                ? Math.min(manifest.stamp(), stamp) : stamp;
        // this chunk's share of the step's content digest: what it reconstructs to after the step ({@code checksum})
        Outputs.progress(context, stamp, job, new StepComplete(job, chunk.getGeneration(), chunk.getStep(), chunk.getStepChunks(),
                encodedBytes, rawBytes, superstep, booked, start, StepDigest.chunkContribution(chunk.getTensor(), chunk.getChunk(), checksum),
                state.supersteps.get(state.supersteps.size() - 1).stamp(), state.supersteps.get(0).step()));
    }

    /**
     * Null if the record's key is the ChunkKey its value implies (docs: the raw-delta topic is keyed so that every step of
     * a chunk lands in one partition, in order; a record keyed otherwise may overtake its chunk's earlier steps), else why not.
     */
    private String checkKey(byte[] keyBytes, SpecificRecord value, String job) {
        if (!(value instanceof RawDeltaChunk) && !(value instanceof StepManifest)) {
            return null;
        }
        if (keyBytes == null) {
            return "record has no key: raw-delta records are keyed by ChunkKey{job, tensor, chunk} (a manifest by ChunkKey{job, \"\", -1})";
        }
        Object key;
        try {
            key = wire.decode(keyBytes);
        } catch (SerializationException e) {
            return "undecodable key: " + e.getMessage();
        }
        if (!(key instanceof ChunkKey chunkKey)) {
            return "key is a " + ((SpecificRecord) key).getSchema().getName() + ", not a ChunkKey";
        }
        if (value instanceof RawDeltaChunk chunk && !(chunkKey.getJob().equals(chunk.getJob()) && chunkKey.getTensor().equals(chunk.getTensor())
                && chunkKey.getChunk() == chunk.getChunk())) {
            return "key names job " + chunkKey.getJob() + ", tensor " + chunkKey.getTensor() + ", chunk " + chunkKey.getChunk()
                    + " but the record is job " + chunk.getJob() + ", tensor " + chunk.getTensor() + ", chunk " + chunk.getChunk();
        }
        if (value instanceof StepManifest manifest && !chunkKey.getJob().equals(manifest.getJob())) {
            return "key names job " + chunkKey.getJob() + " but the manifest is job " + manifest.getJob();
        }
        return null;
    }

    /**
     * Null if the job's checkpoint and index topics exist, else why its records cannot be coded: writing to a missing
     * topic would hold the stream thread, and every job with it, for max.block.ms (issue #11).
     */
    private String missingTopics(String job) {
        for (String topic : new String[] {topics.checkpoints(job), topics.index(job)}) {
            if (!topicCheck.exists(topic)) {
                return "job " + job + " has no topic " + topic + ": a job's topics are created before its first record"
                        + " (the producer does it with lcckpt.create.topics=true; see the README's topics)";
            }
        }
        return null;
    }

    private void deadLetter(Record<byte[], byte[]> record, RecordMetadata source, String job, RawDeltaChunk chunk, String reason) {
        refused = true;
        if (replaying != null) {
            return;
        }
        deadLetters.record(1);
        byte[] value = record.value();
        boolean whole = value == null || value.length <= deadLetterLimit;
        String fullReason = whole ? reason : reason + " (the record is " + value.length + " bytes: its first " + deadLetterLimit + " are kept)";
        String own = topics.deadLetters(job);
        Outputs.deadLetter(context, wire, stamp, new DeadLetter(job,
                chunk == null ? null : chunk.getGeneration(), chunk == null ? null : chunk.getStep(),
                chunk == null ? null : chunk.getTensor(), chunk == null ? null : chunk.getChunk(), fullReason,
                source.topic(), source.partition(), source.offset(),
                value == null ? null : ByteBuffer.wrap(value, 0, Math.min(value.length, deadLetterLimit)).slice()),
                topicCheck.exists(own) ? own : topics.encoderDeadLetters());
    }

    static ValueType valueType(DType dtype) {
        return dtype == DType.FLOAT32 ? ValueType.FLOAT32 : ValueType.FLOAT64;
    }
}
