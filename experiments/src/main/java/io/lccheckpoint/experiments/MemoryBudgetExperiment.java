package io.lccheckpoint.experiments;

import static io.lccheckpoint.experiments.Console.say;

import io.lccheckpoint.embedded.EmbeddedKafka;
import io.lccheckpoint.embedded.TempDirectories;
import io.lccheckpoint.producer.CheckpointProducer;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.kafka.Topics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Many jobs against a small encoder (HAPI, issue #5): the encoder in a child JVM at -Xmx512m, with
 * {@code lcckpt.memory.budget=256 MB} or Kafka's defaults, and 1 to 16 jobs publishing 8 steps of 2M parameters each as
 * fast as they can; without the budget, the count at which it first fails.
 */
final class MemoryBudgetExperiment {
    private static final long PARAMETERS = 2_000_000;
    private static final int STEPS = 8;

    private final EmbeddedKafka kafka;
    private final boolean quick;

    MemoryBudgetExperiment(EmbeddedKafka kafka, boolean quick) {
        this.kafka = kafka;
        this.quick = quick;
    }

    List<MemoryRun> run(int rounds) throws Exception {
        int[] counts = quick ? new int[] {1, 4} : new int[] {1, 2, 4, 8, 16};
        List<MemoryRun> runs = new ArrayList<>();
        say("");
        say("%d jobs against one encoder at -Xmx512m (2M parameters per job, 8 steps each, published as fast as they go), %d run(s) each:",
                counts[counts.length - 1], rounds);
        say("%-8s %6s %10s %10s %16s %s", "budget", "jobs", "completed", "seconds", "values/s coded", "memory / failure");
        for (boolean budget : new boolean[] {true, false}) {
            for (int jobs : counts) {
                boolean failed = false;
                for (int round = 0; round < rounds; round++) {
                    MemoryRun run = memoryRun(budget, jobs, round);
                    runs.add(run);
                    failed |= !run.completed();
                    say("%-8s %6d %10s %10.1f %,16.0f %s", budget ? "256 MB" : "none", jobs, run.completed(), run.seconds(), run.valuesPerSecond(),
                            run.completed() ? run.memory() : run.failure());
                }
                if (failed && !budget) {
                    break; // the failure point without the budget: more jobs only fail sooner
                }
            }
        }
        return runs;
    }

    private MemoryRun memoryRun(boolean budget, int jobs, int round) throws Exception {
        String prefix = "hapi-mem-" + (budget ? "b" : "n") + jobs + "-r" + (round + 1);
        Path directory = Files.createTempDirectory("lcckpt-hapi-mem-");
        Path log = directory.resolve("encoder.log");
        Process child = startEncoder(budget, prefix, directory, log);
        String[] names = new String[jobs];
        for (int k = 0; k < jobs; k++) {
            names[k] = "job-" + k;
        }
        StepCompletions completion = new StepCompletions(kafka.bootstrapServers(), new Topics(prefix).encoderProgress(), names);
        long begin = System.nanoTime();
        try {
            List<Thread> trainers = new ArrayList<>();
            for (String job : names) {
                Thread thread = new Thread(() -> train(prefix, job), "hapi-trainer-" + job.substring("job-".length()));
                trainers.add(thread);
                thread.start();
            }
            for (Thread thread : trainers) {
                thread.join(TimeUnit.MINUTES.toMillis(10));
            }
            // every step of every job complete at the encoder, or the encoder dead
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(jobs + 3);
            boolean done = false;
            while (!done && child.isAlive() && System.nanoTime() < deadline) {
                done = completion.complete(STEPS);
                if (!done) {
                    Thread.sleep(100);
                }
            }
            double seconds = (System.nanoTime() - begin) / 1e9;
            String text = Files.exists(log) ? Files.readString(log) : "";
            if (!done) {
                String failure = text.contains("OutOfMemoryError") ? "OutOfMemoryError in the encoder" : !child.isAlive()
                        ? "the encoder exited (" + child.exitValue() + ")" : "not complete after " + (jobs + 3) + " minutes";
                if (budget) {
                    say("the encoder's log and any heap dump are kept in %s", directory);
                } else {
                    TempDirectories.delete(directory);
                }
                return new MemoryRun(budget, jobs, false, seconds, 0, failure, "");
            }
            child.destroy(); // SIGTERM: the encoder prints its memory figures on the way out
            child.waitFor(60, TimeUnit.SECONDS);
            String memory = Files.readString(log).lines().filter(line -> line.contains("memory figures")).reduce((a, b) -> b)
                    .map(line -> line.substring(line.indexOf("memory figures") + "memory figures".length()).trim()).orElse("(no figures)");
            TempDirectories.delete(directory);
            return new MemoryRun(budget, jobs, true, seconds, (double) jobs * PARAMETERS * STEPS / seconds, null, memory);
        } finally {
            completion.close();
            child.destroyForcibly();
        }
    }

    /** The encoder in a child JVM at -Xmx512m on this JVM's classpath, its state and log in {@code directory}. */
    private Process startEncoder(boolean budget, String prefix, Path directory, Path log) throws java.io.IOException {
        Path properties = directory.resolve("encoder.properties");
        List<String> lines = new ArrayList<>(List.of("bootstrap.servers=" + kafka.bootstrapServers(), "application.id=" + prefix,
                "lcckpt.topic.prefix=" + prefix, "state.dir=" + directory.resolve("state"), "num.stream.threads=2"));
        if (budget) {
            lines.add("lcckpt.memory.budget=" + (256L << 20));
        }
        Files.write(properties, lines);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-Xmx512m", "-XX:+ExitOnOutOfMemoryError"));
        if (budget) {
            // a budget run that runs out of memory is a bug to find: keep what filled the heap
            command.addAll(List.of("-XX:+HeapDumpOnOutOfMemoryError", "-XX:HeapDumpPath=" + directory.resolve("encoder.hprof")));
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.lccheckpoint.encoder.EncoderApp", properties.toString()));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /** One job's trainer: 8 steps as fast as it can, a random quarter of the values moving each step. */
    private void train(String prefix, String job) {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put("lcckpt.topic.prefix", prefix);
        config.put("lcckpt.job", job);
        config.put("lcckpt.topic.partitions", 2);
        config.put("lcckpt.buffer.memory", 16L << 20);
        SplittableRandom random = new SplittableRandom(job.hashCode());
        float[] model = new float[(int) PARAMETERS];
        try (CheckpointProducer producer = new CheckpointProducer(config)) {
            producer.registerTensor("weights", new long[] {PARAMETERS}, DType.FLOAT32);
            for (int step = 0; step <= STEPS; step++) {
                for (int i = 0; i < model.length; i += 1 + random.nextInt(4)) {
                    model[i] += (float) (random.nextGaussian() * 1e-3);
                }
                producer.publish(step, Map.of("weights", model));
            }
            producer.drain();
        } catch (RuntimeException e) {
            // a trainer that fails leaves its steps incomplete: the run reports them as not complete
        }
    }
}
