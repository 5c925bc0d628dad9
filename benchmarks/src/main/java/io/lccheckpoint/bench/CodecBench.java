package io.lccheckpoint.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The codec benchmark as one command: the compression study and the JMH throughput runs, printed as Markdown tables
 * with ratios taken within the same run (the array copy is the memory ceiling; zstd-1 and lz4 are what users run
 * instead). Also written to {@code benchmarks/target/codec-bench.md}.
 */
@Command(name = "codec-bench", mixinStandardHelpOptions = true,
        description = "Benchmarks the LC codec against the memory ceiling, zstd-1 and lz4 on 4 Mi SGD-like float32 deltas.")
public final class CodecBench implements Callable<Integer> {
    private static final double TARGET_ENCODE_GBPS = 1.0;
    private static final double TARGET_DECODE_GBPS = 1.5;
    private static final double TARGET_RATIO_2BIT = 20;
    private static final double TARGET_OVER_ENTROPY = 1.10;
    private static final double TARGET_TWO_THREAD_SPEEDUP = 1.7;

    @Option(names = "--quick", description = "Shorter JMH runs (1 s iterations, 2 warm-up + 3 measured): wider error bars.")
    boolean quick;

    @Option(names = "--sizes-only", description = "Only the compression study, no throughput runs.")
    boolean sizesOnly;

    @Option(names = "--output", description = "Where to write the Markdown report (default: ${DEFAULT-VALUE}).")
    Path output = Path.of("benchmarks/target/codec-bench.md");

    public static void main(String[] args) {
        System.exit(new CommandLine(new CodecBench()).execute(args));
    }

    @Override
    public Integer call() throws RunnerException, IOException {
        StringBuilder report = new StringBuilder();
        report.append(String.format(Locale.ROOT, "Machine: %d cores, %s %s; data: %d float32 values (%.1f MiB) per operation.%n%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.name"), Runtime.version(),
                BenchmarkData.VALUES, BenchmarkData.inputBytes() / 1048576.0));

        List<CompressionStudy.Row> sizes = CompressionStudy.run(BenchmarkData.VALUES);
        sizesTable(report, "benchmark corpus: tensors with σ log-uniform over 4 decades, 30% of values active", sizes);
        sizesTable(report, "denser corpus: σ over 1 decade, 90% of values active", CompressionStudy.run(BenchmarkData.VALUES, 0.9, 1));
        System.out.print(report);

        Map<String, Double> gbps = new LinkedHashMap<>();
        if (!sizesOnly) {
            gbps = throughput();
            report.append("### Throughput (single thread, GB/s of float32 input, 1 GB = 10^9 bytes)\n\n");
            report.append("| benchmark | GB/s | vs array copy | vs zstd-1 compress |\n|---|---:|---:|---:|\n");
            double copy = gbps.getOrDefault("arrayCopy", Double.NaN);
            double zstd = gbps.getOrDefault("zstd1Compress", Double.NaN);
            for (Map.Entry<String, Double> entry : gbps.entrySet()) {
                if (!entry.getKey().contains("state")) {
                    report.append(String.format(Locale.ROOT, "| %s | %.2f | %.2fx | %.2fx |%n", entry.getKey(), entry.getValue(),
                            entry.getValue() / copy, entry.getValue() / zstd));
                }
            }
            report.append('\n');
            wholeStateTable(report, gbps);
        }

        report.append("### Targets (issues #2 and #16)\n\n");
        CompressionStudy.Row twoBit = find(sizes, "2-bit promotion, Huffman (paper)");
        CompressionStudy.Row zeroRun = find(sizes, "2-bit promotion, zero-run (ours)");
        target(report, "2-bit Huffman >= 20x smaller than float32", twoBit.ratio(), TARGET_RATIO_2BIT, true, "x");
        target(report, "zero-run mode within 10% of the symbols' Shannon entropy (bits / entropy)", zeroRun.overEntropy(), TARGET_OVER_ENTROPY, false, "");
        double one = gbps.getOrDefault(WHOLE_STATE + ", 1 thread", Double.NaN);
        double two = gbps.getOrDefault(WHOLE_STATE + ", 2 threads", Double.NaN);
        if (!Double.isNaN(one) && !Double.isNaN(two)) {
            target(report, "coding a 100M-parameter state on 2 threads >= 1.7x one thread", two / one, TARGET_TWO_THREAD_SPEEDUP, true, "x");
        }
        for (Map.Entry<String, Double> entry : gbps.entrySet()) {
            if (entry.getKey().contains("state")) {
                continue;
            }
            if (entry.getKey().startsWith("encode")) {
                target(report, entry.getKey() + " >= 1.0 GB/s", entry.getValue(), TARGET_ENCODE_GBPS, true, " GB/s");
            } else if (entry.getKey().startsWith("decodeApply")) {
                target(report, entry.getKey() + " >= 1.5 GB/s", entry.getValue(), TARGET_DECODE_GBPS, true, " GB/s");
            }
        }
        String tail = report.substring(report.indexOf("### Targets"));
        System.out.print(gbps.isEmpty() ? tail : report.substring(report.indexOf("### Throughput")));
        Files.createDirectories(output.toAbsolutePath().getParent());
        Files.writeString(output, report);
        System.out.println("\nReport written to " + output);
        return 0;
    }

    private static void sizesTable(StringBuilder report, String corpus, List<CompressionStudy.Row> sizes) {
        report.append("### Sizes: ").append(corpus).append(" (").append(CompressionStudy.STEPS)
                .append(" steps with error feedback, one 4 Mi-value chunk)\n\n");
        report.append("| configuration | bytes/step | ratio vs float32 | bits/value | entropy bits/value | bits / entropy | zero bucket | table reused |\n");
        report.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (CompressionStudy.Row row : sizes) {
            report.append(String.format(Locale.ROOT, "| %s | %,.0f | %.1fx | %.4f | %s | %s | %s | %s |%n", row.name(), row.bytesPerStep(),
                    row.ratio(), row.bitsPerValue(),
                    row.entropyBitsPerValue() == 0 ? "-" : String.format(Locale.ROOT, "%.4f", row.entropyBitsPerValue()),
                    Double.isNaN(row.overEntropy()) ? "-" : String.format(Locale.ROOT, "%.3f", row.overEntropy()),
                    row.zeroFraction() == 0 ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * row.zeroFraction()),
                    row.tableReuseRate() == 0 ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * row.tableReuseRate())));
        }
        report.append('\n');
    }

    private Map<String, Double> throughput() throws RunnerException {
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include(CodecBenchmark.class.getSimpleName())
                .include(BaselineBenchmark.class.getSimpleName())
                .include(SmallChunksBenchmark.class.getSimpleName())
                .include(WholeStateBenchmark.class.getSimpleName())
                .include(WholeStateCopyBenchmark.class.getSimpleName())
                .include(VectorPassBBenchmark.class.getSimpleName())
                .include(Float64Benchmark.class.getSimpleName());
        if (quick) {
            options.warmupIterations(2).warmupTime(TimeValue.seconds(1)).measurementIterations(3).measurementTime(TimeValue.seconds(1));
        }
        Collection<RunResult> results = new Runner(options.build()).run();
        Map<String, Double> gbps = new LinkedHashMap<>();
        List<RunResult> sorted = new ArrayList<>(results);
        sorted.sort((a, b) -> label(a).compareTo(label(b)));
        for (RunResult result : sorted) {
            String benchmark = result.getParams().getBenchmark();
            double score = result.getPrimaryResult().getScore();
            if (benchmark.contains("WholeState")) {
                // milliseconds per whole state (both whole-state classes): bytes of float32 values per second
                long bytes = 4L * Long.parseLong(result.getParams().getParam("values"));
                gbps.put(label(result), bytes / (score / 1e3) / 1e9);
            } else if (benchmark.contains(Float64Benchmark.class.getSimpleName())) {
                gbps.put(label(result), score * 2 * BenchmarkData.inputBytes() / 1e9); // 8 bytes a value
            } else if (benchmark.contains(SmallChunksBenchmark.class.getSimpleName())) {
                gbps.put(label(result), score * 4 * SmallChunksBenchmark.values() / 1e9);
            } else {
                gbps.put(label(result), score * BenchmarkData.inputBytes() / 1e9);
            }
        }
        return gbps;
    }

    static final String WHOLE_STATE = "encode state (100M float32, 763 chunks, as the producer codes it)";

    /** Seconds and GB/s for the whole state on 1 and 2 threads, beside the time of copying it. */
    private static void wholeStateTable(StringBuilder report, Map<String, Double> gbps) {
        double copy = gbps.getOrDefault("copy state (100M float32)", Double.NaN);
        double one = gbps.getOrDefault(WHOLE_STATE + ", 1 thread", Double.NaN);
        if (Double.isNaN(one)) {
            return;
        }
        report.append("### A whole 100M-parameter float32 state (400 MB), coded as the producer codes it (2-bit Huffman)\n\n");
        report.append("| what | seconds | GB/s | vs one copy of the state (time) | vs 1 thread |\n|---|---:|---:|---:|---:|\n");
        for (String what : List.of("copy state (100M float32)", WHOLE_STATE + ", 1 thread", WHOLE_STATE + ", 2 threads")) {
            double rate = gbps.getOrDefault(what, Double.NaN);
            report.append(String.format(Locale.ROOT, "| %s | %.3f | %.2f | %.1fx | %s |%n", what, 0.4 / rate, rate, copy / rate,
                    what.startsWith("copy") ? "-" : String.format(Locale.ROOT, "%.2fx", rate / one)));
        }
        report.append('\n');
    }

    private static String label(RunResult result) {
        String method = result.getParams().getBenchmark();
        method = method.substring(method.lastIndexOf('.') + 1);
        if (method.equals("encodeState")) {
            String threads = result.getParams().getParam("threads");
            return WHOLE_STATE + ", " + threads + (threads.equals("1") ? " thread" : " threads");
        }
        if (method.equals("copyState")) {
            return "copy state (100M float32)";
        }
        if (method.equals("encodeStep")) {
            return "encode " + result.getParams().getParam("codec") + " (LeNet-5 + Adam step: 30 chunks of 6-48,000 values)";
        }
        if (result.getParams().getBenchmark().contains(VectorPassBBenchmark.class.getSimpleName())) {
            method = "pass B dense, " + method.replace("Arithmetic", " arithmetic only");
        }
        String codec = result.getParams().getParam("codec");
        String chunk = result.getParams().getParam("chunkValues");
        if (codec == null) {
            return method;
        }
        String type = result.getParams().getBenchmark().contains(Float64Benchmark.class.getSimpleName()) ? ", float64" : "";
        return method + " " + codec + (chunk == null ? "" : " (" + (Integer.parseInt(chunk) >= 1 << 20
                ? (Integer.parseInt(chunk) >> 20) + " Mi" : (Integer.parseInt(chunk) >> 10) + " Ki") + " chunks" + type + ")");
    }

    private static CompressionStudy.Row find(List<CompressionStudy.Row> rows, String name) {
        return rows.stream().filter(row -> row.name().equals(name)).findFirst().orElseThrow();
    }

    private static void target(StringBuilder report, String what, double measured, double target, boolean higherIsBetter, String unit) {
        boolean met = higherIsBetter ? measured >= target : measured <= target;
        double miss = higherIsBetter ? 1 - measured / target : measured / target - 1;
        report.append(String.format(Locale.ROOT, "- %s: measured %.3f%s -> %s%n", what, measured, unit,
                met ? "met" : String.format(Locale.ROOT, miss < 0.01 ? "MISSED by %.1f%%" : "MISSED by %.0f%%", 100 * miss)));
    }
}
