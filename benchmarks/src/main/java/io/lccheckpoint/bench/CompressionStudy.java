package io.lccheckpoint.bench;

import com.github.luben.zstd.Zstd;
import io.lccheckpoint.codec.ChunkEncoder;
import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.Corpus;
import io.lccheckpoint.codec.EncodedChunk;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jpountz.lz4.LZ4Factory;

/**
 * Sizes, not speed: a chain of steps of SGD-like deltas through every configuration, with error feedback, so the
 * distributions are those of a running job. Every figure is computed from real encoded bytes.
 */
final class CompressionStudy {
    static final int STEPS = 20;

    record Row(String name, double bytesPerStep, double ratio, double bitsPerValue, double entropyBitsPerValue,
               double zeroFraction, double tableReuseRate) {
        double overEntropy() {
            return entropyBitsPerValue == 0 ? Double.NaN : bitsPerValue / entropyBitsPerValue;
        }
    }

    /** The benchmark corpus: σ over 4 decades, 30% of values active. */
    static List<Row> run(int values) {
        return run(values, BenchmarkData.ACTIVE_FRACTION, 4);
    }

    /** A denser corpus: σ over the given decades, more values active, so fewer promote to zero. */
    static List<Row> run(int values, double activeFraction, double decades) {
        Map<String, CodecOptions> configurations = new LinkedHashMap<>();
        configurations.put("E only (no promotion), Huffman", CodecOptions.exponentOnly());
        configurations.put("2-bit promotion, Huffman (paper)", CodecOptions.paper(2));
        configurations.put("2-bit, Huffman + code-table cache", CodecOptions.paper(2).withCodeTableReuse(true));
        configurations.put("3-bit promotion, Huffman (paper)", CodecOptions.paper(3));
        configurations.put("2-bit promotion, zero-run (ours)", CodecOptions.zeroRun(2));
        configurations.put("3-bit promotion, zero-run (ours)", CodecOptions.zeroRun(3));

        Corpus corpus = new Corpus(BenchmarkData.SEED);
        float[] initial = corpus.sgdDeltas(values, activeFraction, decades);
        List<float[]> steps = new ArrayList<>();
        for (int step = 0; step < STEPS; step++) {
            steps.add(corpus.sgdDeltas(values, activeFraction, decades));
        }
        List<Row> rows = new ArrayList<>();
        double rawBytes = 4.0 * values;
        for (Map.Entry<String, CodecOptions> configuration : configurations.entrySet()) {
            ChunkEncoder encoder = new ChunkEncoder(configuration.getValue());
            ChunkState state = ChunkState.float32(initial);
            double bytes = 0;
            double entropyBits = 0;
            double zeros = 0;
            int reused = 0;
            for (float[] delta : steps) {
                EncodedChunk chunk = encoder.encode(delta, state);
                bytes += chunk.record().length;
                entropyBits += chunk.shannonBits();
                zeros += chunk.zeroFraction();
                reused += chunk.codeTableReused() ? 1 : 0;
            }
            rows.add(new Row(configuration.getKey(), bytes / STEPS, rawBytes * STEPS / bytes, bytes * 8 / ((double) values * STEPS),
                    entropyBits / ((double) values * STEPS), zeros / STEPS, (double) reused / STEPS));
        }
        double zstd = 0;
        double lz4 = 0;
        for (float[] delta : steps) {
            byte[] raw = BaselineBenchmark.rawBytes(delta);
            zstd += Zstd.compress(raw, 1).length;
            lz4 += LZ4Factory.fastestInstance().fastCompressor().compress(raw).length;
        }
        rows.add(new Row("zstd level 1 on raw float32", zstd / STEPS, rawBytes * STEPS / zstd, zstd * 8 / ((double) values * STEPS), 0, 0, 0));
        rows.add(new Row("lz4 on raw float32", lz4 / STEPS, rawBytes * STEPS / lz4, lz4 * 8 / ((double) values * STEPS), 0, 0, 0));
        return rows;
    }
}
