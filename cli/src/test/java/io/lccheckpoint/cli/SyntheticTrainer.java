package io.lccheckpoint.cli;

import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A deterministic stand-in for training: tensors that move by SGD-like steps (per-tensor scale, most entries barely
 * moving), plus the reference the pipeline must reproduce bit for bit: the codec alone, run on exactly the deltas the
 * producer publishes ({@code u_t − u_{t−1}} in float32), chunk by chunk.
 */
final class SyntheticTrainer {
    final Map<String, float[]> state = new LinkedHashMap<>();
    private final Map<String, List<ChunkState>> reference = new LinkedHashMap<>();
    private final ChunkEncoder referenceEncoder;
    private final int chunkValues;
    private final SplittableRandom random;

    SyntheticTrainer(long seed, Map<String, Integer> sizes, int chunkValues, CodecOptions options) {
        this.random = new SplittableRandom(seed);
        this.chunkValues = chunkValues;
        this.referenceEncoder = new ChunkEncoder(options);
        sizes.forEach((name, size) -> {
            float[] values = new float[size];
            for (int i = 0; i < size; i++) {
                values[i] = (float) (random.nextGaussian() * 0.05);
            }
            state.put(name, values);
        });
        resetReference();
    }

    /** The reference chain restarts from the current state (a new generation's initial state is stored losslessly). */
    void resetReference() {
        reference.clear();
        state.forEach((name, values) -> {
            List<ChunkState> chunks = new ArrayList<>();
            for (int from = 0; from < values.length; from += chunkValues) {
                float[] chunk = new float[Math.min(chunkValues, values.length - from)];
                System.arraycopy(values, from, chunk, 0, chunk.length);
                chunks.add(ChunkState.float32(chunk));
            }
            reference.put(name, chunks);
        });
    }

    /** One training step: every tensor moves; the reference codes the float32 delta. */
    void step() {
        int t = 0;
        for (Map.Entry<String, float[]> entry : state.entrySet()) {
            float[] values = entry.getValue();
            float[] before = values.clone();
            double scale = Math.pow(10, -3 - t++);
            for (int i = 0; i < values.length; i++) {
                double size = random.nextDouble() < 0.2 ? scale : scale * 1e-3;
                values[i] += (float) (random.nextGaussian() * size);
            }
            List<ChunkState> chunks = reference.get(entry.getKey());
            for (int c = 0; c < chunks.size(); c++) {
                int from = c * chunkValues;
                float[] delta = new float[chunks.get(c).size()];
                for (int i = 0; i < delta.length; i++) {
                    delta[i] = values[from + i] - before[from + i];
                }
                referenceEncoder.encode(delta, chunks.get(c));
            }
        }
    }

    Map<String, Object> snapshot() {
        Map<String, Object> copy = new LinkedHashMap<>();
        state.forEach((name, values) -> copy.put(name, values.clone()));
        return copy;
    }

    /** What a restore must return now: the reference reconstruction, tensor by tensor. */
    Map<String, float[]> expectedRestore() {
        Map<String, float[]> expected = new LinkedHashMap<>();
        reference.forEach((name, chunks) -> {
            float[] values = new float[state.get(name).length];
            for (int c = 0; c < chunks.size(); c++) {
                float[] approx = chunks.get(c).approxFloat();
                System.arraycopy(approx, 0, values, c * chunkValues, approx.length);
            }
            expected.put(name, values);
        });
        return expected;
    }
}
