package io.lccheckpoint.producer.internals;

import io.lccheckpoint.codec.BadValueException;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.Checksums;
import io.lccheckpoint.codec.SixteenBitFloats;
import io.lccheckpoint.codec.ValueType;
import io.lccheckpoint.producer.SplitPlanner.Split;
import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.DTypes;
import io.lccheckpoint.schema.ChunkKey;
import io.lccheckpoint.schema.EncodedChunkRecord;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.RemainingStages;
import io.lccheckpoint.schema.StepDigest;
import io.lccheckpoint.schema.StepManifest;
import io.lccheckpoint.schema.SuperstepChunk;
import io.lccheckpoint.schema.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds a step's records on the sender's thread, with no I/O: the manifest, then each chunk of each tensor as the split
 * decides (DESIGN.md §3, §6): the initial full state, a raw delta against the last published values it keeps, a chunk
 * coded here ({@link TrainerCoder}, with each chunk's codec state), or, switching back to storage, a raw delta with the
 * residual folded in. A switch to the trainer marks the chunks for a handover, which the sender then awaits
 * ({@link #handedOver}). With {@code lcckpt.write.checkpoints}, what it can make exactly as the encoder would (an initial
 * state as a superstep, a coded chunk) becomes a {@link Stored} record for the checkpoint topic and a notice on the
 * raw-delta topic.
 */
public final class StepRecords {
    private static final Logger LOG = LoggerFactory.getLogger(StepRecords.class);

    /** A step as built: its records, what the split was and what coding cost. */
    public record Built(List<ProducerRecord<SpecificRecord, SpecificRecord>> records, List<Stored> stored, boolean handover, Split split,
                        boolean switched, long values, long rawBytes, long codedBytes, long codingNanos, long codingCpuNanos) {
        /** Chunk records (the manifest not counted). */
        public int chunks() {
            return records.size() - 1;
        }
    }

    /**
     * A record this producer writes to the checkpoint topic itself, and the notice on the raw-delta topic that points at
     * it once the broker has given it a position (same transaction): the brokers write those bytes once.
     */
    public record Stored(ProducerRecord<SpecificRecord, SpecificRecord> record, RawDeltaChunk notice, int bytes) {
    }

    private final String job;
    private final String rawTopic;
    private final String checkpointTopic;
    private final int chunkValues;
    private final boolean writeCheckpoints;
    private final Collection<TensorSpec> tensors;
    private final TrainerCoder coder;
    private final ToIntFunction<SpecificRecord> checkpointPartition;
    private final Time time;

    private final Map<String, Object> lastPublished = new HashMap<>();
    /** Each chunk's codec state while this producer codes (or right after an initial state under split=trainer). */
    private Map<String, ChunkState[]> codecStates;
    private Split current = Split.STORAGE;
    /** The step built last: the next one's chunks name it as the step they follow. */
    private long lastBuiltStep = -1;

    /**
     * @param tensors the registered tensors, in publishing order (a live view: tensors are registered before the first step)
     * @param checkpointPartition the checkpoint topic's partition for a key, as the encoder's sink would pick it
     */
    public StepRecords(String job, String rawTopic, String checkpointTopic, int chunkValues, boolean writeCheckpoints,
                       Collection<TensorSpec> tensors, TrainerCoder coder, ToIntFunction<SpecificRecord> checkpointPartition, Time time) {
        this.job = job;
        this.rawTopic = rawTopic;
        this.checkpointTopic = checkpointTopic;
        this.chunkValues = chunkValues;
        this.writeCheckpoints = writeCheckpoints;
        this.tensors = tensors;
        this.coder = coder;
        this.checkpointPartition = checkpointPartition;
        this.time = time;
    }

    /** Builds {@code step} with the split {@code target} asks for (it takes effect as DESIGN.md §6 allows: see the class). */
    public Built build(PendingStep step, Split target) {
        boolean initial = step.initial();
        Map<String, Object> values = step.snapshot();
        int stepChunks = tensors.stream().mapToInt(TensorSpec::chunkCount).sum();
        List<ProducerRecord<SpecificRecord, SpecificRecord>> records = new ArrayList<>(stepChunks + 1);
        List<Stored> stored = new ArrayList<>();
        List<TensorInfo> infos = new ArrayList<>();
        for (TensorSpec spec : tensors) {
            infos.add(spec.info(chunkValues));
        }
        long generation = step.generation();
        StepManifest manifest = StepDigest.sealed(new StepManifest(job, generation, step.step(), step.resumedFrom(), infos, null));
        // one timestamp for the whole step: the encoder's records keep it, so a restore can seek to a step's start exactly
        long timestamp = time.milliseconds();
        records.add(new ProducerRecord<>(rawTopic, null, timestamp, new ChunkKey(job, "", -1), manifest));

        boolean handover = false;
        boolean code = false;
        boolean fold = false;
        if (initial) {
            // both sides start from the initial state and a zero residual: no handover record needed
            handover = target == Split.TRAINER;
            codecStates = handover ? new HashMap<>() : null;
            current = target;
        } else if (current == Split.STORAGE) {
            handover = target == Split.TRAINER;
        } else if (target == Split.TRAINER) {
            code = true;
        } else {
            fold = true;
        }
        boolean switched = (handover && !initial) || fold;
        // every chunk says which step it follows, so the encoder can tell a gap (lost or forged records) from the chain
        Long previousStep = initial ? null : lastBuiltStep;
        lastBuiltStep = step.step();
        long valueCount = 0;
        long rawBytes = 0;
        long codedBytes = 0;
        long nanos = 0;
        long cpuNanos = 0;
        // coded first, chunk by chunk on the coder's threads; taken in order below
        List<TrainerCoder.Outcome> coded = null;
        if (code) {
            List<TrainerCoder.Chunk> chunks = new ArrayList<>(stepChunks);
            for (TensorSpec spec : tensors) {
                ChunkState[] states = codecStates.get(spec.name());
                for (int chunk = 0; chunk < spec.chunkCount(); chunk++) {
                    int from = chunk * chunkValues;
                    chunks.add(new TrainerCoder.Chunk(spec, values.get(spec.name()), lastPublished.get(spec.name()), from,
                            Math.min(spec.length(), from + chunkValues), states[chunk]));
                }
            }
            TrainerCoder.Step codedStep = coder.codeAll(chunks);
            coded = codedStep.outcomes();
            nanos = codedStep.nanos();
            cpuNanos = codedStep.cpuNanos();
        }
        int chunkIndex = 0;
        for (TensorSpec spec : tensors) {
            Object value = values.get(spec.name());
            Object previous = lastPublished.get(spec.name());
            ChunkState[] states = codecStates == null ? null : codecStates.get(spec.name());
            if (initial && codecStates != null) {
                states = new ChunkState[spec.chunkCount()];
                codecStates.put(spec.name(), states);
            }
            for (int chunk = 0; chunk < spec.chunkCount(); chunk++) {
                int from = chunk * chunkValues;
                int to = Math.min(spec.length(), from + chunkValues);
                valueCount += to - from;
                // what the storage split sends: an initial state in the tensor's own type, a delta in a delta's width
                rawBytes += (long) (initial ? DTypes.bytesPerValue(spec.dtype()) : spec.width()) * (to - from);
                ByteBuffer bytes;
                RemainingStages remaining = RemainingStages.ALL;
                String options = null;
                if (initial) {
                    bytes = initialBytes(spec.valueType(), value, from, to);
                    if (states != null) {
                        states[chunk] = value instanceof float[] f ? ChunkState.ofFloats(spec.valueType(), Arrays.copyOfRange(f, from, to), new float[to - from])
                                : value instanceof long[] l ? ChunkState.exact(spec.valueType(), Arrays.copyOfRange(l, from, to))
                                : ChunkState.float64(Arrays.copyOfRange((double[]) value, from, to));
                    }
                } else if (code) {
                    TrainerCoder.Outcome outcome = coded.get(chunkIndex++);
                    if (outcome.error() != null) {
                        throw new KafkaException("job " + job + ", step " + step.step() + ", tensor " + spec.name() + ", chunk " + chunk
                                + ": cannot code the delta: " + outcome.error().getMessage() + "; resume(step, state) from the last committed step",
                                outcome.error());
                    }
                    bytes = ByteBuffer.wrap(outcome.coded().record());
                    codedBytes += bytes.remaining();
                    remaining = RemainingStages.NONE;
                    options = coder.describe(spec);
                } else if (value instanceof long[] l) {
                    // exact: no residual, so a fold sends the plain delta
                    bytes = integerBytes(l, (long[]) previous, from, to, DTypes.bytesPerValue(spec.carrier()));
                } else if (fold) {
                    bytes = foldedBytes(value, previous, states[chunk], from, to);
                } else {
                    bytes = chunkBytes(value, previous, from, to);
                }
                boolean notice = (code || initial) && writeCheckpoints;
                RawDeltaChunk record = new RawDeltaChunk(job, generation, step.step(), spec.name(), chunk, spec.chunkCount(), stepChunks,
                        spec.carrier(), initial, notice ? ByteBuffer.allocate(0) : bytes, remaining, options, fold, handover, previousStep, null,
                        spec.options() == null ? null : spec.options().describe());
                if (notice && initial) {
                    // the superstep the encoder would have written for the initial state: same key, same value
                    CheckpointKey key = new CheckpointKey(job, RecordKind.SUPERSTEP_CHUNK, spec.name(), chunk, generation, step.step());
                    long checksum = value instanceof float[] f ? Checksums.xxh64(spec.valueType(), Arrays.copyOfRange(f, from, to))
                            : value instanceof long[] l ? ChunkState.exact(spec.valueType(), Arrays.copyOfRange(l, from, to)).approxChecksum()
                            : Checksums.xxh64(Arrays.copyOfRange((double[]) value, from, to));
                    SuperstepChunk superstep = new SuperstepChunk(job, generation, step.step(), spec.name(), chunk, spec.carrier(), bytes, checksum);
                    stored.add(new Stored(checkpointRecord(key, timestamp, superstep), record, bytes.remaining()));
                } else if (notice) {
                    // the record the encoder would have written for this step (same key, same value): the chain is the same
                    CheckpointKey key = new CheckpointKey(job, RecordKind.ENCODED_CHUNK, spec.name(), chunk, generation, step.step());
                    EncodedChunkRecord encoded = new EncodedChunkRecord(job, generation, step.step(), spec.name(), chunk, bytes, previousStep);
                    stored.add(new Stored(checkpointRecord(key, timestamp, encoded), record, bytes.remaining()));
                }
                records.add(new ProducerRecord<>(rawTopic, null, timestamp, new ChunkKey(job, spec.name(), chunk), record));
            }
            lastPublished.put(spec.name(), value);
        }
        if (fold) {
            codecStates = null;
            current = Split.STORAGE;
            LOG.info("job {}: the encoder codes from step {} on (residual folded into the step's raw delta)", job, step.step());
        }
        return new Built(records, stored, handover, code ? Split.TRAINER : Split.STORAGE, switched, initial ? 0 : valueCount, rawBytes,
                codedBytes, nanos, cpuNanos);
    }

    private ProducerRecord<SpecificRecord, SpecificRecord> checkpointRecord(CheckpointKey key, long timestamp, SpecificRecord value) {
        return new ProducerRecord<>(checkpointTopic, checkpointPartition.applyAsInt(key), timestamp, key, value);
    }

    /** The side that codes the next step unless it switches: STORAGE until a handover completes, then TRAINER until a fold. */
    public Split current() {
        return current;
    }

    /** The encoder handed the chunks' states over after {@code step}: this producer codes from the next step on. */
    public void handedOver(Map<String, ChunkState[]> states, long step) {
        codecStates = states;
        current = Split.TRAINER;
        LOG.info("job {}: the trainer codes from step {} on (state handed over by the encoder)", job, step + 1);
    }

    /**
     * split=auto under the storage split: codes the first chunk of a step on a scratch state, to measure the local
     * coding speed and ratio; null when the values cannot be coded (the encoder will dead-letter the step).
     */
    public Probe probe(Map<String, Object> values) {
        TensorSpec spec = tensors.iterator().next();
        int to = Math.min(spec.length(), chunkValues);
        try {
            TrainerCoder.Coded coded = coder.probe(spec, values.get(spec.name()), lastPublished.get(spec.name()), to);
            return new Probe(to, coded.nanos() / 1e9, coded.cpuNanos() / 1e9, (long) spec.width() * to, coded.record().length);
        } catch (BadValueException e) {
            return null;
        }
    }

    /** One chunk coded on a scratch state: its values, wall and CPU seconds, raw and coded bytes. */
    public record Probe(long values, double seconds, double cpuSeconds, long rawBytes, long codedBytes) {
    }

    // float32 and float64 twins below: Java's primitive arrays share no type, and a generic version would box every value

    /** An initial state's values [from, to) as the encoder reads them: little-endian in the tensor's own type. */
    static ByteBuffer initialBytes(ValueType type, Object value, int from, int to) {
        if (type.isExact()) {
            return integerBytes((long[]) value, null, from, to, type.bytesPerValue());
        }
        if (type == ValueType.FLOAT32 || type == ValueType.FLOAT64) {
            return chunkBytes(value, null, from, to);
        }
        short[] bits = SixteenBitFloats.toBits(type, Arrays.copyOfRange((float[]) value, from, to));
        ByteBuffer buffer = ByteBuffer.allocate(2 * bits.length).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asShortBuffer().put(bits);
        return buffer;
    }

    /** Little-endian values [from, to) of the state, or of its delta to the previous published state (float32 for 16-bit types). */
    static ByteBuffer chunkBytes(Object value, Object previous, int from, int to) {
        if (value instanceof float[] current) {
            ByteBuffer buffer = ByteBuffer.allocate(4 * (to - from)).order(ByteOrder.LITTLE_ENDIAN);
            float[] before = (float[]) previous;
            for (int i = from; i < to; i++) {
                buffer.putFloat(before == null ? current[i] : current[i] - before[i]);
            }
            return buffer.flip();
        }
        double[] current = (double[]) value;
        double[] before = (double[]) previous;
        ByteBuffer buffer = ByteBuffer.allocate(8 * (to - from)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = from; i < to; i++) {
            buffer.putDouble(before == null ? current[i] : current[i] - before[i]);
        }
        return buffer.flip();
    }

    /**
     * An exact tensor's values [from, to), or their delta to the previous published state modulo 2^(8 × width), as
     * {@code width}-byte little-endian integers (FORMAT.md §4.5).
     */
    static ByteBuffer integerBytes(long[] current, long[] before, int from, int to, int width) {
        ByteBuffer buffer = ByteBuffer.allocate(width * (to - from)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = from; i < to; i++) {
            long v = before == null ? current[i] : current[i] - before[i];
            switch (width) {
                case 1 -> buffer.put((byte) v);
                case 2 -> buffer.putShort((short) v);
                case 4 -> buffer.putInt((int) v);
                default -> buffer.putLong(v);
            }
        }
        return buffer.flip();
    }

    /** The raw delta plus the residual this producer carried: what the encoder's "delta + residual" will code. */
    static ByteBuffer foldedBytes(Object value, Object previous, ChunkState state, int from, int to) {
        if (value instanceof float[] current) {
            float[] before = (float[]) previous;
            float[] residual = state.residualFloat();
            ByteBuffer buffer = ByteBuffer.allocate(4 * (to - from)).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = from; i < to; i++) {
                buffer.putFloat((current[i] - before[i]) + residual[i - from]);
            }
            return buffer.flip();
        }
        double[] current = (double[]) value;
        double[] before = (double[]) previous;
        double[] residual = state.residualDouble();
        ByteBuffer buffer = ByteBuffer.allocate(8 * (to - from)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = from; i < to; i++) {
            buffer.putDouble((current[i] - before[i]) + residual[i - from]);
        }
        return buffer.flip();
    }
}
