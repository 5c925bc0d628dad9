package io.lccheckpoint.encoder;

import io.lccheckpoint.codec.BadValueException;
import io.lccheckpoint.codec.ChunkDecoder;
import io.lccheckpoint.codec.CodecException;
import io.lccheckpoint.codec.ValueType;
import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.EncodedChunkRecord;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.RemainingStages;
import io.lccheckpoint.schema.StepDigest;
import io.lccheckpoint.schema.StepManifest;
import io.lccheckpoint.schema.SuperstepChunk;
import io.lccheckpoint.schema.kafka.Topics;
import io.lccheckpoint.schema.kafka.WireFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Set;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

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
 * supersteps and the books {@link SuperstepPolicy} asks for between them. An instance that takes over a task rebuilds
 * the working states ({@link TaskChunkStates}): each chunk's state at its anchor (the book, and ũ from the anchor's
 * superstep), then the raw-delta records after it, replayed through this same code ({@link #replay}) with every output
 * held back. Which record a chunk may take is {@link ChainRules}'; the codec does the coding.
 */
final class EncodeProcessor implements Processor<byte[], byte[], byte[], byte[]> {
    /** The chunks' books: changelogged, written only at a chunk's anchors. */
    static final String STORE = "lcckpt-chunk-state";
    /** The chunks' working states: local, no changelog, written at every step. */
    static final String WORK_STORE = "lcckpt-chunk-work";

    private final Topics topics;
    private final CodecOptions codecOptions;
    /** Encoders for the tensors that have options of their own, by their options' text. */
    private final java.util.Map<String, ChunkEncoder> tensorEncoders = new java.util.HashMap<>();
    private final SuperstepPolicy policy;
    private final WireFormat wire;

    private ProcessorContext<byte[], byte[]> context;
    /** The task's chunk states: working states, books, rebuilds. */
    private TaskChunkStates chunks;
    private ChunkEncoder encoder;
    private final ChunkDecoder decoder = new ChunkDecoder();
    /** What a record writes besides its coded chunk. */
    private ChunkOutputs outputs;
    private final int maxRecordBytes;
    /** The time the record being processed stamps on its outputs. */
    private long stamp;
    /** min(stamp, the record's own timestamp): what a superstep or an anchor of this record is stamped with, for seeks. */
    private long seekStamp;
    /** Set by {@link #deadLetter}: the record being handled was refused. */
    private boolean refused;
    /** The records notices point at, on the checkpoint topic. */
    private StoredRecords stored;
    private ChainRebuilder.PositionReader positions;
    private final WorkingMemory working;
    private final TopicCheck topicCheck;
    private final TaskHeartbeats heartbeats;
    private final ChainRebuilder.Logs logs;
    private final RawTrimmer trimmer;
    private String taskName;

    EncodeProcessor(Topics topics, WireFormat wire, CodecOptions codecOptions, SuperstepPolicy policy, WorkingMemory working,
                    TopicCheck topicCheck, TaskHeartbeats heartbeats, ChainRebuilder.Logs logs, RawTrimmer trimmer, int maxRecordBytes) {
        this.maxRecordBytes = maxRecordBytes;
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
        this.encoder = new ChunkEncoder(codecOptions);
        this.taskName = heartbeats.watch(context, "encode");
        String beatAs = taskName;
        this.chunks = new TaskChunkStates(context.getStateStore(STORE), context.getStateStore(WORK_STORE), topics,
                new ChainRebuilder(logs, wire, () -> heartbeats.beat(beatAs)), logs, trimmer, heartbeats, taskName, context.taskId(), this::replay);
        this.positions = logs.positionReader();
        this.stored = new StoredRecords(topics, wire, positions);
        this.outputs = new ChunkOutputs(context, wire, topics, topicCheck, chunks, policy, maxRecordBytes);
        working.reportTo(context);
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
        chunks.startOnce();
        RecordMetadata source = context.recordMetadata().orElseThrow();
        String job = topics.jobOf(source.topic());
        String missing = topicCheck.missingJobTopics(topics, job);
        if (missing != null) {
            deadLetter(record, source, job, null, missing);
            chunks.skip(source);
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
            outputs.manifestWritten(job, manifest.getGeneration(), manifest.getStep(), stamp);
        } else if (value instanceof RawDeltaChunk chunk) {
            int values = chunk.getRemaining() == RemainingStages.NONE ? chunk.getValues().remaining() / 2
                    : chunk.getValues().remaining() / Math.max(1, ChainRules.rawWidth(chunk));
            working.within(WorkingMemory.cost(values, chunk.getDtype() == DType.FLOAT64 || io.lccheckpoint.schema.DTypes.isExact(chunk.getDtype())),
                    () -> handle(record, source, job, chunk));
            chunks.offerTrim(source);
        } else {
            deadLetter(record, source, job, null, "unexpected record type " + value.getSchema().getName() + " on a raw-delta topic");
        }
    }

    /** One raw-delta record, replayed for the chunks being rebuilt (others, and records at or before a chunk's anchor, pass). */
    private void replay(org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]> raw, RecordMetadata at, String job) {
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
        ChunkRecordState state = chunks.replayed(chunkKey(job, chunk));
        if (state == null || raw.offset() <= state.anchorOffset) {
            return;
        }
        handle(new Record<>(raw.key(), raw.value(), raw.timestamp()), at, job, chunk);
    }

    private void handle(Record<byte[], byte[]> record, RecordMetadata source, String job, RawDeltaChunk chunk) {
        refused = false;
        handleChunk(record, source, job, chunk);
        if (refused && chunk.getStoredAt() != null && !chunks.replaying() && chunk.getJob().equals(job)) {
            discardStray(job, chunk);
        }
    }

    /**
     * A refused notice's coded chunk is on the checkpoint topic already, written by the trainer: a tombstone removes it,
     * unless its key is also the key of a record of the chain (a duplicate step), which the tombstone would remove too.
     */
    private void discardStray(String job, RawDeltaChunk chunk) {
        // the bookkeeping is enough: the chunk's values (ũ and r, the chunk's size twice) are not read
        ChunkRecordState state = chunks.bookkeeping(chunkKey(job, chunk));
        long generation = chunk.getGeneration();
        long step = chunk.getStep();
        boolean initial = chunk.getInitial();
        if (!ChainRules.inChain(state, generation, step, initial)) {
            outputs.tombstone(stamp, job, chunk, initial ? RecordKind.SUPERSTEP_CHUNK : RecordKind.ENCODED_CHUNK, generation, step);
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
        int n = coded ? -1 : bytes.remaining() / ChainRules.rawWidth(chunk);
        String key = chunkKey(job, chunk);
        ChunkRecordState state = chunks.load(key, job, source);
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
                if (chunks.replaying()) {
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
            ChunkRecordState fresh = ChainRules.newGeneration(chunk, state, ChunkState.initial(valueType(chunk.getDtype()), bytes), seekStamp);
            // one hash of the initial state serves the superstep (or checks the trainer's), the anchor and the step's digest
            long checksum = fresh.chunk.approxChecksum();
            if (storedInitial != null && checksum != storedInitial.getChecksum()) {
                deadLetter(record, source, job, chunk, "the initial state at " + stored.where(job, chunk.getStoredAt()) + " fails its checksum");
                return;
            }
            long superstepBytes = notice ? (long) n * width : outputs.writeSuperstep(stamp, job, chunk, fresh, checksum);
            ChainRules.anchor(fresh, fresh.residualOnTrainer ? ChunkRecordState.Residual.ON_TRAINER : ChunkRecordState.Residual.ZERO, source.offset(),
                    seekStamp, false, checksum);
            outputs.save(stamp, key, fresh, job, chunk, superstepBytes, true, n * (long) width, true, checksum);
            return;
        }

        refusal = ChainRules.checkDelta(chunk, state);
        if (refusal != null) {
            deadLetter(record, source, job, chunk, refusal.reason());
            return;
        }
        // (a replay passes over the records refused here: see skip)
        if (!coded && chunk.getHandover() && !chunks.replaying() && !topicCheck.exists(topics.handover(job))) {
            deadLetter(record, source, job, chunk, "a handover to the trainer was asked for, but topic " + topics.handover(job) + " does not exist");
            chunks.skip(source);
            return;
        }
        byte[] encoded = coded ? acceptCoded(record, source, job, chunk, key, state, bytes) : codeRaw(record, source, job, chunk, key, state, bytes, n);
        if (encoded == null) {
            return;
        }
        if (!chunks.replaying() && chunk.getStoredAt() == null) {
            Outputs.checkpoint(context, wire, stamp, Outputs.key(job, RecordKind.ENCODED_CHUNK, chunk.getTensor(), chunk.getChunk(), generation, step),
                    new EncodedChunkRecord(job, generation, step, chunk.getTensor(), chunk.getChunk(), ByteBuffer.wrap(encoded), state.lastStep));
        }
        long encodedBytes = encoded.length;
        // the XXH64 of ũ after this step, which the record carries (this codec wrote it, or apply checked it): the
        // superstep, the anchor and the step's digest use it instead of hashing the state again
        long checksum = ChunkDecoder.stateChecksum(encoded);
        boolean superstep = ChainRules.advance(state, step, encoded.length, policy, width, seekStamp);
        if (superstep) {
            encodedBytes += outputs.writeSuperstep(stamp, job, chunk, state, checksum);
            outputs.applyRetention(stamp, job, chunk, state);
        }
        if (!coded && chunk.getHandover()) {
            outputs.handOver(stamp, job, chunk, state);
        }
        boolean booked = superstep;
        if (superstep) {
            ChainRules.anchor(state, state.residualOnTrainer ? ChunkRecordState.Residual.ON_TRAINER : ChunkRecordState.Residual.STORED, source.offset(),
                    seekStamp, false, checksum);
        } else if (policy.bookAt(state, step)) {
            if (chunks.replaying()) {
                throw new IllegalStateException("a rebuild of job " + job + " tensor " + chunk.getTensor() + " chunk " + chunk.getChunk()
                        + " replayed the book due at step " + step + ", but its book's anchor is before it: the book and the logs disagree");
            }
            // ũ and r into the book: a rebuild starts here, and the raw records before this one can go
            ChainRules.anchor(state, ChunkRecordState.Residual.STORED, source.offset(), seekStamp, true, checksum);
            booked = true;
        }
        outputs.save(stamp, key, state, job, chunk, encodedBytes, superstep, state.size() * (long) ChainRules.rawWidth(chunk), booked, checksum);
    }

    /**
     * The encoder for a chunk's options: this encoder's own, or the tensor's ({@code tensorCodec}, checked by
     * ChainRules.checkRecord). A handful of option sets at most per job; the map is bounded all the same.
     */
    private ChunkEncoder encoderFor(RawDeltaChunk chunk) {
        if (chunk.getTensorCodec() == null) {
            return encoder;
        }
        if (tensorEncoders.size() >= 64) {
            tensorEncoders.clear();
        }
        return tensorEncoders.computeIfAbsent(chunk.getTensorCodec(), text -> new ChunkEncoder(ChainRules.optionsOf(chunk, codecOptions)));
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
            // the values are delta + the trainer's residual: the encoder's "delta + residual" is exactly what the trainer would have coded
            state.chunk.dropResidual();
            state.residualOnTrainer = false;
        }
        try {
            return encoderFor(chunk).encodeLittleEndian(bytes, state.chunk).record();
        } catch (BadValueException e) {
            // a poisoned step: not coded, residual untouched (the codec guarantees it), the chain of this chunk stops here
            poison(record, source, job, chunk, key, state, "poisoned step: " + e.getMessage());
            return null;
        }
    }

    /** split=trainer: checks the trainer's record and applies it to the reconstruction; null (after a dead letter) if unusable. */
    private byte[] acceptCoded(Record<byte[], byte[]> record, RecordMetadata source, String job, RawDeltaChunk chunk, String key,
                               ChunkRecordState state, ByteBuffer bytes) {
        ChainRules.Refusal refusal = ChainRules.checkCoded(chunk, state, encoderFor(chunk).options().describe());
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
            // all or nothing: on a record of another type or size, or a corrupt one, the reconstruction stays as it was
            decoder.applyTo(coded, state.chunk);
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
        chunks.put(key, state);
        deadLetter(record, source, job, chunk, reason);
    }

    /** Null if the record's key is the one its value implies ({@link ChainRules#checkKey}), else why not. */
    private String checkKey(byte[] keyBytes, SpecificRecord value, String job) {
        if (!(value instanceof RawDeltaChunk) && !(value instanceof StepManifest)) {
            return null;
        }
        if (keyBytes == null) {
            return "record has no key: raw-delta records are keyed by ChunkKey{job, tensor, chunk} (a manifest by ChunkKey{job, \"\", -1})";
        }
        try {
            return ChainRules.checkKey(wire.decode(keyBytes), value);
        } catch (SerializationException e) {
            return "undecodable key: " + e.getMessage();
        }
    }

    /** Refuses the record being handled: a dead letter with the reason (none while a rebuild replays). */
    private void deadLetter(Record<byte[], byte[]> record, RecordMetadata source, String job, RawDeltaChunk chunk, String reason) {
        refused = true;
        outputs.deadLetter(stamp, record, source, job, chunk, reason);
    }

    static ValueType valueType(DType dtype) {
        // the codec's value types carry the schemas' names
        return ValueType.valueOf(dtype.name());
    }
}
