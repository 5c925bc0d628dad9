package io.lccheckpoint.bench;

import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.Corpus;
import io.lccheckpoint.producer.internals.TensorSpec;
import io.lccheckpoint.producer.internals.TrainerCoder;
import io.lccheckpoint.schema.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A whole 100M-parameter float32 state coded as the producer codes it under split=trainer: its {@link TrainerCoder}
 * takes the step's delta to the last published values and codes the 763 chunks of 131,072 values (the producer's
 * default chunk) on 1 or 2 threads, with 2-bit Huffman. Beside it, {@link WholeStateCopyBenchmark} copies the state (what a
 * full checkpoint's snapshot costs at least). One operation is one whole state.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 4)
@Measurement(iterations = 3, time = 4)
@Fork(value = 1, jvmArgsAppend = {"-Xms5g", "-Xmx5g"})
@State(Scope.Benchmark)
public class WholeStateBenchmark {
    static final int CHUNK_VALUES = 131_072;

    @Param({"100000000"})
    public int values;

    @Param({"1", "2"})
    public int threads;

    private float[] previous;
    private float[] current;
    private TrainerCoder coder;
    private List<TrainerCoder.Chunk> chunks;

    @Setup(Level.Trial)
    public void setUp() {
        Corpus corpus = new Corpus(BenchmarkData.SEED);
        previous = corpus.sgdDeltas(values, BenchmarkData.ACTIVE_FRACTION);
        float[] delta = corpus.sgdDeltas(values, BenchmarkData.ACTIVE_FRACTION);
        current = new float[values];
        for (int i = 0; i < values; i++) {
            current[i] = previous[i] + delta[i];
        }
        int chunkCount = (values + CHUNK_VALUES - 1) / CHUNK_VALUES;
        TensorSpec spec = new TensorSpec("state", new long[] {values}, DType.FLOAT32, values, chunkCount, null, false);
        coder = new TrainerCoder(CodecOptions.paper(2), threads, "bench");
        chunks = new ArrayList<>(chunkCount);
        for (int chunk = 0; chunk < chunkCount; chunk++) {
            int from = chunk * CHUNK_VALUES;
            int to = Math.min(values, from + CHUNK_VALUES);
            float[] initial = new float[to - from];
            System.arraycopy(previous, from, initial, 0, to - from);
            // the same delta each operation: the residual's error feedback keeps the chunks' codes alike from step to step
            chunks.add(new TrainerCoder.Chunk(spec, current, previous, from, to, ChunkState.float32(initial)));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        coder.close();
    }

    /** Delta, quantization, coding and the state's checksum of every chunk, as the producer's sender asks for them. */
    @Benchmark
    public TrainerCoder.Step encodeState() {
        TrainerCoder.Step step = coder.codeAll(chunks);
        if (step.outcomes().get(0).error() != null) {
            throw new IllegalStateException(step.outcomes().get(0).error());
        }
        return step;
    }
}
