package io.lccheckpoint.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** The memory ceiling beside {@link WholeStateBenchmark}: one copy of the same 100M float32 values, on one thread. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@State(Scope.Benchmark)
public class WholeStateCopyBenchmark {
    @Param({"100000000"})
    public int values;

    private float[] state;
    private float[] copy;

    @Setup
    public void setUp() {
        state = new float[values];
        for (int i = 0; i < values; i++) {
            state[i] = i * 1e-9f;
        }
        copy = new float[values];
    }

    @Benchmark
    public float[] copyState() {
        System.arraycopy(state, 0, copy, 0, values);
        return copy;
    }
}
