package io.lccheckpoint.bench;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Two builds of the codec timed against each other in one JVM, on the benchmark's data: each build is loaded by its own
 * class loader (so each is compiled on its own), and the two code the same 4 Mi values in alternating rounds; the figure
 * is the best round of each and their ratio. On a noisy machine this repeats within a few percent where two JMH runs of
 * one jar can differ by half. A build is a class path holding the codec's classes and its test classes (the corpus),
 * e.g. an older {@code benchmarks.jar}, or {@code codec/target/classes:codec/target/test-classes}.
 */
@Command(name = "compare-builds", mixinStandardHelpOptions = true,
        description = "Times two builds of the codec against each other (encode or decode+apply), best of alternating rounds.")
public final class CompareBuilds implements Callable<Integer> {
    @Option(names = "--before", required = true, description = "Class path of the first build.")
    String before;

    @Option(names = "--after", required = true, description = "Class path of the second build.")
    String after;

    @Option(names = "--rounds", description = "Rounds per build (the first third are warm-up): ${DEFAULT-VALUE}.")
    int rounds = 18;

    @Option(names = "--decode", description = "Time decode+apply instead of encode.")
    boolean decode;

    @Option(names = "--config", split = ",", description = "codec@chunkValues, e.g. huffman-2@262144 (default: the JMH grid).")
    List<String> configs = List.of("huffman-2@262144", "huffman-2@4194304", "huffman-3@262144", "huffman-3@4194304",
            "zero-run-2@262144", "zero-run-2@4194304", "zero-run-3@262144", "zero-run-3@4194304");

    public static void main(String[] args) {
        System.exit(new CommandLine(new CompareBuilds()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        System.out.printf(Locale.ROOT, "| %s | chunk | before ns/value | after ns/value | before GB/s | after GB/s | speed-up |%n|---|---:|---:|---:|---:|---:|---:|%n",
                decode ? "decode+apply" : "encode");
        for (String config : configs) {
            String[] parts = config.split("@");
            int chunkValues = Integer.parseInt(parts[1]);
            Build[] builds = {new Build(before, parts[0], chunkValues), new Build(after, parts[0], chunkValues)};
            long[][] times = new long[2][rounds];
            for (int round = 0; round < rounds; round++) {
                for (int b = 0; b < 2; b++) {
                    times[b][round] = decode ? builds[b].decode() : builds[b].encode();
                }
            }
            double[] best = new double[2];
            for (int b = 0; b < 2; b++) {
                best[b] = Arrays.stream(times[b], rounds / 3, rounds).min().orElseThrow() / (double) BenchmarkData.VALUES;
            }
            System.out.printf(Locale.ROOT, "| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2fx |%n", parts[0], chunkValues, best[0], best[1],
                    4 / best[0], 4 / best[1], best[0] / best[1]);
        }
        return 0;
    }

    /** One build, through reflection: the benchmark's data (as BenchmarkData makes it) and one encoder and decoder. */
    private static final class Build {
        private final Method encode;
        private final Method apply;
        private final Method approx;
        private final Method residual;
        private final Object encoder;
        private final Object decoder;
        private final Object[] warm;
        private final Object[] states;
        private final float[][] delta;
        private final byte[][] records;
        private final float[] out;

        Build(String classPath, String codec, int chunkValues) throws Exception {
            List<URL> urls = new ArrayList<>();
            for (String entry : classPath.split(java.io.File.pathSeparator)) {
                urls.add(Path.of(entry).toUri().toURL());
            }
            ClassLoader loader = new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
            Class<?> options = loader.loadClass("io.lccheckpoint.codec.CodecOptions");
            Class<?> encoderClass = loader.loadClass("io.lccheckpoint.codec.ChunkEncoder");
            Class<?> stateClass = loader.loadClass("io.lccheckpoint.codec.ChunkState");
            Class<?> corpusClass = loader.loadClass("io.lccheckpoint.codec.Corpus");
            Class<?> decoderClass = loader.loadClass("io.lccheckpoint.codec.ChunkDecoder");
            int bits = Integer.parseInt(codec.substring(codec.lastIndexOf('-') + 1));
            Object chosen = options.getMethod(codec.startsWith("huffman") ? "paper" : "zeroRun", int.class).invoke(null, bits);
            encoder = encoderClass.getConstructor(options).newInstance(chosen);
            decoder = decoderClass.getConstructor().newInstance();
            encode = encoderClass.getMethod("encode", float[].class, stateClass);
            apply = decoderClass.getMethod("apply", byte[].class, float[].class, float[].class);
            approx = stateClass.getMethod("approxFloat");
            residual = stateClass.getMethod("residualFloat");
            Method copy = stateClass.getMethod("copy");
            Method float32 = stateClass.getMethod("float32", float[].class);
            Method record = loader.loadClass("io.lccheckpoint.codec.EncodedChunk").getMethod("record");
            Object corpus = corpusClass.getConstructor(long.class).newInstance(BenchmarkData.SEED);
            Method sgd = corpusClass.getMethod("sgdDeltas", int.class, double.class);
            int chunks = BenchmarkData.VALUES / chunkValues;
            float[] initial = (float[]) sgd.invoke(corpus, BenchmarkData.VALUES, BenchmarkData.ACTIVE_FRACTION);
            warm = new Object[chunks];
            for (int c = 0; c < chunks; c++) {
                warm[c] = float32.invoke(null, (Object) slice(initial, c, chunkValues));
            }
            for (int step = 0; step < BenchmarkData.WARM_UP_STEPS; step++) {
                float[] stepDelta = (float[]) sgd.invoke(corpus, BenchmarkData.VALUES, BenchmarkData.ACTIVE_FRACTION);
                for (int c = 0; c < chunks; c++) {
                    encode.invoke(encoder, slice(stepDelta, c, chunkValues), warm[c]);
                }
            }
            float[] next = (float[]) sgd.invoke(corpus, BenchmarkData.VALUES, BenchmarkData.ACTIVE_FRACTION);
            delta = new float[chunks][];
            states = new Object[chunks];
            records = new byte[chunks][];
            for (int c = 0; c < chunks; c++) {
                delta[c] = slice(next, c, chunkValues);
                states[c] = copy.invoke(warm[c]);
                records[c] = (byte[]) record.invoke(encode.invoke(encoder, delta[c], copy.invoke(warm[c])));
            }
            out = new float[chunkValues];
        }

        private static float[] slice(float[] all, int chunk, int chunkValues) {
            return Arrays.copyOfRange(all, chunk * chunkValues, (chunk + 1) * chunkValues);
        }

        /** Nanoseconds to encode every chunk once, from the warm states (put back first, not timed). */
        long encode() throws Exception {
            for (int c = 0; c < states.length; c++) {
                float[] a = (float[]) approx.invoke(warm[c]);
                float[] r = (float[]) residual.invoke(warm[c]);
                System.arraycopy(a, 0, (float[]) approx.invoke(states[c]), 0, a.length);
                System.arraycopy(r, 0, (float[]) residual.invoke(states[c]), 0, r.length);
            }
            long start = System.nanoTime();
            for (int c = 0; c < states.length; c++) {
                encode.invoke(encoder, delta[c], states[c]);
            }
            return System.nanoTime() - start;
        }

        /** Nanoseconds to apply every chunk's record once to its warm state, into a scratch array. */
        long decode() throws Exception {
            long start = System.nanoTime();
            for (int c = 0; c < records.length; c++) {
                apply.invoke(decoder, records[c], (float[]) approx.invoke(warm[c]), out);
            }
            return System.nanoTime() - start;
        }
    }
}
