package io.lccheckpoint.encoder;

import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.schema.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * What the encoder keeps per chunk in its state store: the codec's {@link ChunkState} (reconstruction and residual)
 * and the bookkeeping of the chunk's chain (generation, last step, supersteps kept, steps whose records a later
 * superstep will make obsolete). Serialized little-endian, version byte first (version 1, before the split flag, still reads).
 */
final class ChunkRecordState {
    private static final int VERSION = 2;

    long generation;
    long lastStep;
    long poisonedAt = -1;
    /** The trainer codes this chunk and holds its residual (split=trainer); the residual kept here is stale meanwhile. */
    boolean residualOnTrainer;
    DType dtype;
    long lastSuperstep;
    final List<Long> supersteps = new ArrayList<>();
    final List<Long> encodedSteps = new ArrayList<>();
    /** Records of earlier generations, tombstoned once this generation keeps its full set of supersteps: kind, generation, step. */
    final List<long[]> olderRecords = new ArrayList<>();
    ChunkState chunk;

    int size() {
        return chunk.size();
    }

    byte[] serialize() {
        int width = dtype == DType.FLOAT32 ? 4 : 8;
        int bytes = 1 + 8 * 4 + 1 + 1 + 4 + 4 + 8 * supersteps.size() + 4 + 8 * encodedSteps.size() + 4 + 24 * olderRecords.size()
                + (residualOnTrainer ? 1 : 2) * width * size();
        ByteBuffer buffer = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        buffer.put((byte) VERSION).putLong(generation).putLong(lastStep).putLong(poisonedAt).putLong(lastSuperstep);
        buffer.put((byte) dtype.ordinal()).put((byte) (residualOnTrainer ? 1 : 0)).putInt(size());
        buffer.putInt(supersteps.size());
        supersteps.forEach(buffer::putLong);
        buffer.putInt(encodedSteps.size());
        encodedSteps.forEach(buffer::putLong);
        buffer.putInt(olderRecords.size());
        for (long[] record : olderRecords) {
            buffer.putLong(record[0]).putLong(record[1]).putLong(record[2]);
        }
        // while the trainer holds the residual, the one here is stale: it is not stored (half the changelog per step)
        if (dtype == DType.FLOAT32) {
            buffer.asFloatBuffer().put(chunk.approxFloat());
            buffer.position(buffer.position() + 4 * size());
            if (!residualOnTrainer) {
                buffer.asFloatBuffer().put(chunk.residualFloat());
            }
        } else {
            buffer.asDoubleBuffer().put(chunk.approxDouble());
            buffer.position(buffer.position() + 8 * size());
            if (!residualOnTrainer) {
                buffer.asDoubleBuffer().put(chunk.residualDouble());
            }
        }
        return buffer.array();
    }

    static ChunkRecordState deserialize(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int version = buffer.get();
        if (version != 1 && version != VERSION) {
            throw new IllegalStateException("chunk state version " + version + " is not 1 or " + VERSION);
        }
        ChunkRecordState state = new ChunkRecordState();
        state.generation = buffer.getLong();
        state.lastStep = buffer.getLong();
        state.poisonedAt = buffer.getLong();
        state.lastSuperstep = buffer.getLong();
        state.dtype = DType.values()[buffer.get()];
        state.residualOnTrainer = version >= 2 && buffer.get() != 0;
        int n = buffer.getInt();
        for (int i = buffer.getInt(); i > 0; i--) {
            state.supersteps.add(buffer.getLong());
        }
        for (int i = buffer.getInt(); i > 0; i--) {
            state.encodedSteps.add(buffer.getLong());
        }
        for (int i = buffer.getInt(); i > 0; i--) {
            state.olderRecords.add(new long[] {buffer.getLong(), buffer.getLong(), buffer.getLong()});
        }
        if (state.dtype == DType.FLOAT32) {
            float[] approx = new float[n];
            float[] residual = new float[n];
            buffer.asFloatBuffer().get(approx);
            buffer.position(buffer.position() + 4 * n);
            if (!state.residualOnTrainer) {
                buffer.asFloatBuffer().get(residual);
            }
            state.chunk = ChunkState.ofFloat32(approx, residual);
        } else {
            double[] approx = new double[n];
            double[] residual = new double[n];
            buffer.asDoubleBuffer().get(approx);
            buffer.position(buffer.position() + 8 * n);
            if (!state.residualOnTrainer) {
                buffer.asDoubleBuffer().get(residual);
            }
            state.chunk = ChunkState.ofFloat64(approx, residual);
        }
        return state;
    }
}
