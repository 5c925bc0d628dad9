package io.lccheckpoint.eval;

import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.EncodedChunk;
import java.util.ArrayList;
import java.util.List;

/**
 * The paper's compression breakdown (its Fig. 4) on a training run's per-iteration deltas, with error feedback as in a
 * real run: the size ratio to float32 after E (each value replaced by its bucket index: log2 of the buckets present),
 * after E+P (x bits per value), after E+P+H (the real Huffman records) and with our zero-run mode (real records).
 */
public final class CompressionBreakdown {
    public record Row(int promotionBits, double ratioE, double ratioEP, double ratioEPH, double ratioZeroRun, double zeroFraction) {
    }

    private CompressionBreakdown() {
    }

    /** {@code deltas}: the model's successive states' differences, one per iteration, all of one length. */
    public static List<Row> measure(float[] initial, List<float[]> states, int[] promotionBits) {
        List<Row> rows = new ArrayList<>();
        int n = initial.length;
        for (int bits : promotionBits) {
            ChunkState exponentOnly = ChunkState.float32(initial);
            ChunkState huffman = ChunkState.float32(initial);
            ChunkState zeroRun = ChunkState.float32(initial);
            ChunkEncoder e = new ChunkEncoder(CodecOptions.exponentOnly());
            ChunkEncoder eph = new ChunkEncoder(CodecOptions.paper(bits));
            ChunkEncoder ours = new ChunkEncoder(CodecOptions.zeroRun(bits));
            double bitsE = 0;
            double bytesEPH = 0;
            double bytesOurs = 0;
            double zeros = 0;
            float[] previous = initial;
            for (float[] state : states) {
                float[] delta = new float[n];
                for (int i = 0; i < n; i++) {
                    delta[i] = state[i] - previous[i];
                }
                previous = state;
                EncodedChunk exponent = e.encode(delta, exponentOnly);
                int buckets = exponent.symbolCounts().length;
                bitsE += (double) n * Math.max(1, Math.ceil(Math.log(buckets) / Math.log(2)));
                EncodedChunk coded = eph.encode(delta, huffman);
                bytesEPH += coded.record().length;
                zeros += coded.zeroFraction();
                bytesOurs += ours.encode(delta, zeroRun).record().length;
            }
            double raw = 32.0 * n * states.size();
            rows.add(new Row(bits, raw / bitsE, 32.0 / bits, raw / (8 * bytesEPH), raw / (8 * bytesOurs), zeros / states.size()));
        }
        return rows;
    }
}
