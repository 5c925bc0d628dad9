package io.lccheckpoint.encoder;

import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.DTypes;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * What the encoder knows of one chunk: the codec's {@link ChunkState} (reconstruction ũ and residual r) and the
 * bookkeeping of the chunk's chain (generation, last step, supersteps kept, steps whose records a later superstep makes
 * obsolete, earlier generations still to tombstone).
 *
 * <p>It is stored in two forms (DESIGN.md §8, issue #12):
 * <ul>
 *   <li>{@link Form#WORK}, at every step, in the task's local store, which has no changelog: bookkeeping, ũ and r.</li>
 *   <li>{@link Form#BOOK}, only at the chunk's anchors (its generation's initial state and each superstep), in the
 *       changelogged store: the bookkeeping, where the anchor is, the checksum of ũ there, and the residual there when the
 *       encoder holds it ({@link Residual#STORED}). A few hundred bytes per chunk, plus 4 or 8 bytes per value once per
 *       superstep interval while the encoder holds the residual.</li>
 * </ul>
 * After a fail-over the work form is rebuilt from the book, the anchor's superstep on the checkpoint topic and the
 * chunk's raw-delta records after the anchor (EncodeProcessor#rebuild). Serialized little-endian, version byte first;
 * versions 1 and 2 (the full state at every step, before issue #12) still read.
 */
final class ChunkRecordState {
    private static final int VERSION = 4;
    /** Record kinds in a version 1 or 2 state's list of an older generation's records. */
    static final long KIND_ENCODED = 0;
    static final long KIND_SUPERSTEP = 1;

    enum Form { BOOK, WORK }

    /**
     * The residual at the anchor: zero (a generation's initial state), stored in the book, or held by the trainer
     * (split=trainer: not the encoder's to rebuild).
     */
    enum Residual { ZERO, STORED, ON_TRAINER }

    /** A superstep kept, with the time its records were stamped: where a rebuild starts reading the checkpoint topic. */
    record Superstep(long step, long stamp) {
    }

    /** Records of an earlier generation, tombstoned once the current one keeps its full set of supersteps. */
    record OlderGeneration(long generation, List<Long> supersteps, StepRuns encodedSteps) {
    }

    /** A legacy state's record of an older generation, as versions 1 and 2 listed them one by one. */
    private record LegacyOlderRecord(long kind, long generation, long step) {
    }

    long generation;
    long lastStep;
    long poisonedAt = -1;
    /** The trainer codes this chunk and holds its residual (split=trainer); the residual kept here is stale meanwhile. */
    boolean residualOnTrainer;
    DType dtype;
    int size;
    long lastSuperstep;
    /** Bytes of the chunk's coded records since its last superstep (lcckpt.superstep.policy=bytes). */
    long codedSinceSuperstep;
    final List<Superstep> supersteps = new ArrayList<>();
    StepRuns encodedSteps = new StepRuns();
    final List<OlderGeneration> older = new ArrayList<>();
    /** The anchor: the chunk's newest superstep (its initial state or a superstep), whose records a rebuild starts from. */
    long anchorStep = -1;
    /** The anchor record's offset on the chunk's raw-delta partition: a rebuild replays the records after it. */
    long anchorOffset = -1;
    /** The time the anchor's superstep record was stamped with: where a rebuild looks for it on the checkpoint topic. */
    long anchorStamp;
    /** XXH64 of ũ at the anchor: the superstep a rebuild finds must be this one. */
    long anchorChecksum;
    Residual anchorResidual = Residual.ZERO;
    /** A book that carries ũ at the anchor as well (written when a legacy state is upgraded: its anchor is no superstep). */
    boolean approxInBook;
    /** ũ and r: always in the work form; in a book, r if {@link Residual#STORED} and ũ if {@link #approxInBook}, both at the anchor. */
    ChunkState chunk;
    /** A version 1 or 2 record: the full state, written at every step by encoders before issue #12. */
    boolean legacy;

    int size() {
        return size;
    }

    /** The first raw-delta offset a rebuild of this chunk reads. */
    long rawNeededFrom() {
        return anchorOffset + 1;
    }

    byte[] serialize(Form form) {
        // ũ and r as the codec keeps them: double arrays for float64, float arrays for float32 and the 16-bit types, ũ as
        // longs and no r for the exact types
        boolean withApprox = form == Form.WORK || approxInBook;
        boolean withResidual = form == Form.WORK ? !residualOnTrainer : anchorResidual == Residual.STORED;
        long valueBytes = (withApprox ? valueBytes(true) : 0) + (withResidual ? valueBytes(false) : 0);
        int olderBytes = 4;
        for (OlderGeneration generation : older) {
            olderBytes += 8 + 4 + 8 * generation.supersteps().size() + generation.encodedSteps().serializedSize();
        }
        int bytes = 2 + 8 * 5 + 1 + 1 + 4 + 4 + 16 * supersteps.size() + encodedSteps.serializedSize() + olderBytes + 2 + 8 * 4
                + Math.toIntExact(valueBytes);
        ByteBuffer buffer = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        buffer.put((byte) VERSION).put((byte) form.ordinal());
        buffer.putLong(generation).putLong(lastStep).putLong(poisonedAt).putLong(lastSuperstep).putLong(codedSinceSuperstep);
        buffer.put((byte) dtype.ordinal()).put((byte) (residualOnTrainer ? 1 : 0)).putInt(size);
        buffer.putInt(supersteps.size());
        supersteps.forEach(superstep -> buffer.putLong(superstep.step()).putLong(superstep.stamp()));
        encodedSteps.writeTo(buffer);
        buffer.putInt(older.size());
        for (OlderGeneration generation : older) {
            buffer.putLong(generation.generation()).putInt(generation.supersteps().size());
            generation.supersteps().forEach(buffer::putLong);
            generation.encodedSteps().writeTo(buffer);
        }
        buffer.put((byte) anchorResidual.ordinal()).put((byte) (approxInBook ? 1 : 0));
        buffer.putLong(anchorStep).putLong(anchorOffset).putLong(anchorStamp).putLong(anchorChecksum);
        if (form == Form.WORK) {
            putValues(buffer, true);
            if (!residualOnTrainer) {
                putValues(buffer, false);
            }
        } else {
            if (approxInBook) {
                putValues(buffer, true);
            }
            if (anchorResidual == Residual.STORED) {
                putValues(buffer, false);
            }
        }
        return buffer.array();
    }

    /** Bytes of ũ ({@code approx}) or r as stored: 8 per value for float64 and exact ũ, none for exact r, else 4. */
    private long valueBytes(boolean approx) {
        if (DTypes.isExact(dtype)) {
            return approx ? 8L * size : 0;
        }
        return (dtype == DType.FLOAT64 ? 8L : 4L) * size;
    }

    private void putValues(ByteBuffer buffer, boolean approx) {
        if (DTypes.isExact(dtype)) {
            if (approx) {
                buffer.asLongBuffer().put(chunk.approxLong());
                buffer.position(buffer.position() + 8 * size);
            }
            return;
        }
        if (dtype != DType.FLOAT64) {
            buffer.asFloatBuffer().put(approx ? chunk.approxFloat() : chunk.residualFloat());
            buffer.position(buffer.position() + 4 * size);
        } else {
            buffer.asDoubleBuffer().put(approx ? chunk.approxDouble() : chunk.residualDouble());
            buffer.position(buffer.position() + 8 * size);
        }
    }

    /**
     * Reads either form. A book's {@link #chunk} holds what the book stores at the anchor (ũ if {@link #approxInBook}, r
     * if {@link Residual#STORED}, zeros for the other), or is null if it stores neither.
     */
    static ChunkRecordState deserialize(byte[] bytes) {
        return deserialize(bytes, true);
    }

    /** The bookkeeping alone ({@link #chunk} null): what a task needs of each book when it starts, without the values. */
    static ChunkRecordState bookkeeping(byte[] bytes) {
        return deserialize(bytes, false);
    }

    private static ChunkRecordState deserialize(byte[] bytes, boolean values) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int version = buffer.get();
        if (version == 1 || version == 2) {
            return deserializeLegacy(buffer, version, values);
        }
        if (version != 3 && version != VERSION) {
            throw new IllegalStateException("chunk state version " + version + " is not 1, 2, 3 or " + VERSION);
        }
        Form form = Form.values()[buffer.get()];
        ChunkRecordState state = new ChunkRecordState();
        state.generation = buffer.getLong();
        state.lastStep = buffer.getLong();
        state.poisonedAt = buffer.getLong();
        state.lastSuperstep = buffer.getLong();
        state.codedSinceSuperstep = version >= 4 ? buffer.getLong() : 0;
        state.dtype = DType.values()[buffer.get()];
        state.residualOnTrainer = buffer.get() != 0;
        state.size = buffer.getInt();
        for (int i = buffer.getInt(); i > 0; i--) {
            state.supersteps.add(new Superstep(buffer.getLong(), buffer.getLong()));
        }
        state.encodedSteps = StepRuns.readFrom(buffer);
        for (int i = buffer.getInt(); i > 0; i--) {
            long generation = buffer.getLong();
            List<Long> supersteps = new ArrayList<>();
            for (int j = buffer.getInt(); j > 0; j--) {
                supersteps.add(buffer.getLong());
            }
            state.older.add(new OlderGeneration(generation, supersteps, StepRuns.readFrom(buffer)));
        }
        state.anchorResidual = Residual.values()[buffer.get()];
        state.approxInBook = buffer.get() != 0;
        state.anchorStep = buffer.getLong();
        state.anchorOffset = buffer.getLong();
        state.anchorStamp = buffer.getLong();
        state.anchorChecksum = buffer.getLong();
        if (!values) {
            return state;
        }
        if (form == Form.WORK) {
            state.chunk = readValues(buffer, state.dtype, state.size, true, !state.residualOnTrainer);
        } else if (state.approxInBook) {
            state.chunk = readValues(buffer, state.dtype, state.size, true, state.anchorResidual == Residual.STORED);
        } else if (state.anchorResidual == Residual.STORED) {
            // the residual alone, with a zero ũ (the anchor's superstep gives ũ)
            state.chunk = readValues(buffer, state.dtype, state.size, false, true);
        }
        return state;
    }

    /**
     * Reads n values into ũ if {@code approx} (else ũ is zero), then n more into r if {@code residual} (else r is zero):
     * double arrays for float64, float arrays for float32 and the 16-bit types (ũ in the type, r in float32).
     */
    private static ChunkState readValues(ByteBuffer buffer, DType dtype, int n, boolean approx, boolean residual) {
        if (DTypes.isExact(dtype)) {
            long[] values = new long[n];
            if (approx) {
                buffer.asLongBuffer().get(values);
                buffer.position(buffer.position() + 8 * n);
            }
            return ChunkState.ofExact(EncodeProcessor.valueType(dtype), values);
        }
        if (dtype != DType.FLOAT64) {
            float[] values = new float[n];
            float[] rest = new float[n];
            if (approx) {
                buffer.asFloatBuffer().get(values);
                buffer.position(buffer.position() + 4 * n);
            }
            if (residual) {
                buffer.asFloatBuffer().get(rest);
                buffer.position(buffer.position() + 4 * n);
            }
            return ChunkState.ofFloats(EncodeProcessor.valueType(dtype), values, rest);
        }
        double[] values = new double[n];
        double[] rest = new double[n];
        if (approx) {
            buffer.asDoubleBuffer().get(values);
            buffer.position(buffer.position() + 8 * n);
        }
        if (residual) {
            buffer.asDoubleBuffer().get(rest);
            buffer.position(buffer.position() + 8 * n);
        }
        return ChunkState.ofFloat64(values, rest);
    }

    /** Versions 1 and 2: the full state as the changelog carried it at every step (issue #3 to #11). */
    private static ChunkRecordState deserializeLegacy(ByteBuffer buffer, int version, boolean values) {
        ChunkRecordState state = new ChunkRecordState();
        state.legacy = true;
        state.generation = buffer.getLong();
        state.lastStep = buffer.getLong();
        state.poisonedAt = buffer.getLong();
        state.lastSuperstep = buffer.getLong();
        state.dtype = DType.values()[buffer.get()];
        state.residualOnTrainer = version >= 2 && buffer.get() != 0;
        state.size = buffer.getInt();
        for (int i = buffer.getInt(); i > 0; i--) {
            // the time of a legacy superstep is unknown: a rebuild reads the checkpoint topic from its start
            state.supersteps.add(new Superstep(buffer.getLong(), 0));
        }
        for (int i = buffer.getInt(); i > 0; i--) {
            state.encodedSteps.add(buffer.getLong());
        }
        List<LegacyOlderRecord> olderRecords = new ArrayList<>();
        for (int i = buffer.getInt(); i > 0; i--) {
            olderRecords.add(new LegacyOlderRecord(buffer.getLong(), buffer.getLong(), buffer.getLong()));
        }
        for (LegacyOlderRecord record : olderRecords) {
            OlderGeneration generation = state.older.stream().filter(g -> g.generation() == record.generation()).findFirst().orElseGet(() -> {
                OlderGeneration added = new OlderGeneration(record.generation(), new ArrayList<>(), new StepRuns());
                state.older.add(added);
                return added;
            });
            if (record.kind() == KIND_SUPERSTEP) {
                generation.supersteps().add(record.step());
            } else {
                generation.encodedSteps().add(record.step());
            }
        }
        if (values) {
            state.chunk = readValues(buffer, state.dtype, state.size, true, !state.residualOnTrainer);
        }
        return state;
    }
}
