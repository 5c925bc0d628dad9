package io.lccheckpoint.cli;

import io.lccheckpoint.producer.CheckpointProducer;
import io.lccheckpoint.restorer.RestoredState;
import io.lccheckpoint.restorer.Restorer;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.kafka.SingleObjectSerde;
import io.lccheckpoint.schema.kafka.Topics;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.quota.ClientQuotaAlteration;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The HAPI experiment (issue #5): where the codec's stages run, under a slow network made with Kafka client quotas on
 * the local broker; many jobs against a small encoder with and without the memory budget; restore with and without
 * pushdown after 1,000 steps. Writes its section of docs/EVALUATION.md.
 */
@Command(name = "hapi", mixinStandardHelpOptions = true,
        description = "The HAPI experiment: split point under client quotas, the encoder's memory budget, restore pushdown; writes its section of docs/EVALUATION.md.")
final class HapiCommand implements Callable<Integer> {
    static final String SECTION = "hapi";
    private static final int CHUNK = 131_072;

    @Option(names = "--quick", description = "10M parameters only, quotas 5 MB/s and unthrottled, 1-4 jobs, 300 restore steps (a few minutes).")
    boolean quick;

    @Option(names = "--report", defaultValue = "docs/EVALUATION.md", description = "The report whose HAPI section is rewritten (default ${DEFAULT-VALUE}).")
    Path report;

    @Option(names = "--seconds", defaultValue = "25", description = "Minimum measured time per split configuration (default ${DEFAULT-VALUE}); throttling is bursty.")
    int seconds;

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /** One configuration's outcome. */
    record SplitRun(long parameters, double quotaMBps, String split, int steps, double stepSeconds, double trainerCpuPerStep,
                    double networkBytesPerStep, double encoderCpuPerStep, String finalSplit, long switches) {
    }

    record MemoryRun(boolean budget, int jobs, boolean completed, double seconds, double valuesPerSecond, String failure, String memory) {
    }

    record RestoreRun(int steps, long parameters, long naiveBytes, long fullBytes, double fullSeconds, long pushdownBytes, double pushdownSeconds,
                      long superstep, long deltas) {
    }

    @Override
    public Integer call() throws Exception {
        long start = System.nanoTime();
        List<SplitRun> splits = new ArrayList<>();
        List<MemoryRun> memory = new ArrayList<>();
        RestoreRun restore;
        try (EmbeddedKafka kafka = EmbeddedKafka.start(Duration.ofSeconds(90),
                Map.of("quota.window.size.seconds", "1", "quota.window.num", "4"))) {
            splits.addAll(splitExperiment(kafka));
            restore = restoreExperiment(kafka);
            memory.addAll(memoryExperiment(kafka));
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        writeSection(splits, memory, restore, elapsed);
        return 0;
    }

    // ---------------------------------------------------------------- split point under quotas

    private List<SplitRun> splitExperiment(EmbeddedKafka kafka) throws Exception {
        long[] sizes = quick ? new long[] {10_000_000L} : new long[] {10_000_000L, 50_000_000L};
        double[] quotas = quick ? new double[] {5, 0} : new double[] {5, 25, 100, 0};
        String prefix = "hapi-split";
        KafkaStreams encoder = kafka.startEncoder(prefix, prefix);
        List<SplitRun> runs = new ArrayList<>();
        try {
            for (long parameters : sizes) {
                float[] pattern = deltaPattern(parameters);
                // the trainer's compute per step (a GPU step the checkpointing runs beside): 20 ms per million parameters
                long computeMillis = parameters / 50_000;
                say("");
                say("split point, %,d parameters (%.0f MB raw per step), %d ms of compute per step:", parameters, 4e-6 * parameters, computeMillis);
                say("%-12s %-8s %10s %8s %14s %16s %16s %s", "quota", "split", "step (s)", "steps", "trainer CPU/step", "network MB/step",
                        "encoder CPU/step", "ends as");
                for (double quota : quotas) {
                    for (String split : new String[] {"storage", "trainer", "auto"}) {
                        SplitRun run = splitRun(kafka, prefix, parameters, pattern, computeMillis, quota, split);
                        runs.add(run);
                        say("%-12s %-8s %10.3f %8d %13.3f s %16.2f %15.3f s %s (%d switches)", quota == 0 ? "none" : String.format(Locale.ROOT, "%.0f MB/s", quota),
                                split, run.stepSeconds(), run.steps(), run.trainerCpuPerStep(), run.networkBytesPerStep() / 1e6, run.encoderCpuPerStep(),
                                run.finalSplit(), run.switches());
                    }
                }
            }
        } finally {
            encoder.close(Duration.ofSeconds(60));
        }
        return runs;
    }

    /** SGD-like deltas: 20% of the entries move at 1e-3, the rest at 1e-6 (fixed seed); steps use rotations of it. */
    private static float[] deltaPattern(long parameters) {
        SplittableRandom random = new SplittableRandom(42);
        float[] pattern = new float[(int) parameters];
        for (int i = 0; i < pattern.length; i++) {
            pattern[i] = (float) (random.nextGaussian() * (random.nextInt(5) == 0 ? 1e-3 : 1e-6));
        }
        return pattern;
    }

    private SplitRun splitRun(EmbeddedKafka kafka, String prefix, long parameters, float[] pattern, long computeMillis, double quota, String split)
            throws Exception {
        String job = String.format(Locale.ROOT, "p%dm-q%s-%s", parameters / 1_000_000, quota == 0 ? "none" : String.valueOf((int) quota), split);
        String clientId = "trainer-" + job;
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put("client.id", clientId);
        config.put("lcckpt.topic.prefix", prefix);
        config.put("lcckpt.job", job);
        config.put("lcckpt.split", split);
        config.put("lcckpt.split.replan.steps", 3);
        config.put("lcckpt.topic.partitions", 2);
        float[] model = new float[(int) parameters];
        System.arraycopy(pattern, 0, model, 0, model.length);
        Completion completion = new Completion(kafka.bootstrapServers(), new Topics(prefix).encoderProgress(), job);
        // the quota from the start: the initial state crosses the same slow network (and split=auto plans its first
        // step from that transfer, as it would on a real cluster)
        setQuota(kafka, clientId, quota);
        try (CheckpointProducer producer = new CheckpointProducer(config)) {
            producer.registerTensor("weights", new long[] {parameters}, DType.FLOAT32);
            producer.publish(0, Map.of("weights", model)).get(10, TimeUnit.MINUTES);
            completion.await(0, Duration.ofMinutes(10));
            long bytesBefore = producer.bytesSent();
            double trainerCpuBefore = cpu(name -> name.equals("lcckpt-producer-" + job) || name.contains("| " + clientId));
            double encoderCpuBefore = cpu(name -> name.contains(prefix + "-"));
            long begin = System.nanoTime();
            long step = 0;
            while (step < 3 || (System.nanoTime() - begin) / 1e9 < seconds && step < 200) {
                step++;
                int shift = (int) ((step * 7_919L) % parameters);
                float factor = 1f + 0.1f * (step % 7);
                for (int i = 0; i < model.length; i++) {
                    int j = i + shift;
                    model[i] += factor * pattern[j < model.length ? j : j - model.length];
                }
                Thread.sleep(computeMillis);
                producer.publish(step, Map.of("weights", model));
            }
            producer.drain();
            completion.await(step, Duration.ofMinutes(15));
            double elapsed = (System.nanoTime() - begin) / 1e9;
            double trainerCpu = cpu(name -> name.equals("lcckpt-producer-" + job) || name.contains("| " + clientId)) - trainerCpuBefore;
            double encoderCpu = cpu(name -> name.contains(prefix + "-")) - encoderCpuBefore;
            double steady = completion.steadyStepSeconds(job, step);
            SplitRun run = new SplitRun(parameters, quota, split, (int) step, Double.isNaN(steady) ? elapsed / step : steady, trainerCpu / step,
                    (double) (producer.bytesSent() - bytesBefore) / step, encoderCpu / step,
                    producer.currentSplit().name().toLowerCase(Locale.ROOT), producer.splitSwitches());
            setQuota(kafka, clientId, 0);
            return run;
        } finally {
            completion.close();
        }
    }

    /** producer_byte_rate for one client id (0: remove the quota). */
    private static void setQuota(EmbeddedKafka kafka, String clientId, double megabytesPerSecond) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            ClientQuotaEntity entity = new ClientQuotaEntity(Map.of(ClientQuotaEntity.CLIENT_ID, clientId));
            admin.alterClientQuotas(List.of(new ClientQuotaAlteration(entity, List.of(new ClientQuotaAlteration.Op("producer_byte_rate",
                    megabytesPerSecond > 0 ? megabytesPerSecond * 1e6 : null))))).all().get();
        }
    }

    /** CPU seconds of the live threads whose names match. */
    private static double cpu(Predicate<String> names) {
        double total = 0;
        for (ThreadInfo info : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
            if (info != null && names.test(info.getThreadName())) {
                long nanos = THREADS.getThreadCpuTime(info.getThreadId());
                total += nanos > 0 ? nanos / 1e9 : 0;
            }
        }
        return total;
    }

    /**
     * Follows the encoder's progress topic on its own thread: when every chunk of a job's step is coded, the step is
     * complete, and the time it was seen is kept.
     */
    private static final class Completion implements AutoCloseable {
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final Map<String, Map<Long, Integer>> counts = new HashMap<>();
        private final Map<String, Long> latest = new ConcurrentHashMap<>();
        private final Map<String, java.util.concurrent.ConcurrentSkipListMap<Long, Long>> times = new ConcurrentHashMap<>();
        private final Thread thread;
        private volatile boolean stop;
        private volatile RuntimeException failure;

        Completion(String bootstrap, String topic, String... jobs) throws InterruptedException {
            Map<String, Object> config = new HashMap<>();
            config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            List<TopicPartition> partitions = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (partitions.isEmpty()) {
                var infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
                if (infos != null) {
                    infos.forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
                }
                if (partitions.isEmpty()) {
                    if (System.nanoTime() > deadline) {
                        consumer.close();
                        throw new IllegalStateException("the encoder's progress topic " + topic + " did not appear");
                    }
                    Thread.sleep(500); // the encoder creates it when it starts
                }
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            for (String job : jobs) {
                counts.put(job, new HashMap<>());
                latest.put(job, -1L);
                times.put(job, new java.util.concurrent.ConcurrentSkipListMap<>());
            }
            thread = new Thread(this::follow, "hapi-completion");
            thread.setDaemon(true);
            thread.start();
        }

        private void follow() {
            try {
                while (!stop) {
                    for (var record : consumer.poll(Duration.ofMillis(50))) {
                        String job = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
                        Map<Long, Integer> steps = counts.get(job);
                        if (steps != null && SingleObjectSerde.decode(record.value()) instanceof StepComplete notice) {
                            int count = steps.merge(notice.getStep(), 1, Integer::sum);
                            if (count == notice.getChunks()) {
                                steps.remove(notice.getStep());
                                times.get(job).put(notice.getStep(), System.nanoTime());
                                latest.merge(job, notice.getStep(), Math::max);
                            }
                        }
                    }
                }
            } catch (RuntimeException e) {
                failure = e;
            } finally {
                consumer.close(Duration.ofSeconds(5));
            }
        }

        /** True when every job has completed {@code step}. */
        boolean complete(long step) {
            if (failure != null) {
                throw failure;
            }
            return latest.values().stream().allMatch(s -> s >= step);
        }

        /**
         * Seconds per step in the steady state: between the completions of the middle step and the last one (the first
         * half is warm-up, and for split=auto the time it takes to settle).
         */
        double steadyStepSeconds(String job, long last) {
            var completed = times.get(job);
            long middle = Math.max(1, last / 2);
            Long from = completed.get(middle);
            Long to = completed.get(last);
            if (from == null || to == null || last <= middle) {
                return Double.NaN;
            }
            return (to - from) / 1e9 / (last - middle);
        }

        void await(long step, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!complete(step)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("step " + step + " of " + latest.keySet() + " did not complete within " + timeout + " (reached " + latest + ")");
                }
                Thread.sleep(20);
            }
        }

        @Override
        public void close() {
            stop = true;
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---------------------------------------------------------------- restore pushdown

    private RestoreRun restoreExperiment(EmbeddedKafka kafka) throws Exception {
        // a restore between two supersteps (the tail half an interval long), not right at one
        int steps = quick ? 325 : 1025;
        long parameters = 1_000_000;
        String prefix = "hapi-restore";
        String job = "restore-1m";
        KafkaStreams encoder = kafka.startEncoder(prefix, prefix);
        try {
            Map<String, Object> config = new HashMap<>();
            config.put("bootstrap.servers", kafka.bootstrapServers());
            config.put("lcckpt.topic.prefix", prefix);
            config.put("lcckpt.job", job);
            config.put("lcckpt.split", "trainer");
            config.put("lcckpt.topic.partitions", 1);
            float[] pattern = deltaPattern(parameters);
            float[] model = pattern.clone();
            long sent;
            Completion completion = new Completion(kafka.bootstrapServers(), new Topics(prefix).encoderProgress(), job);
            try (CheckpointProducer producer = new CheckpointProducer(config)) {
                producer.registerTensor("weights", new long[] {parameters}, DType.FLOAT32);
                producer.publish(0, Map.of("weights", model));
                for (int step = 1; step <= steps; step++) {
                    int shift = (int) ((step * 7_919L) % parameters);
                    for (int i = 0; i < model.length; i++) {
                        int j = i + shift;
                        model[i] += pattern[j < model.length ? j : j - model.length];
                    }
                    Thread.sleep(10); // the trainer's compute
                    producer.publish(step, Map.of("weights", model));
                }
                producer.drain();
                completion.await(steps, Duration.ofMinutes(15));
                // everything a replay from the initial state needs: the initial state and every step's coded chunks
                sent = producer.bytesSent();
            } finally {
                completion.close();
            }
            Map<String, Object> restoreConfig = new HashMap<>(Map.of("bootstrap.servers", kafka.bootstrapServers(), "lcckpt.topic.prefix", prefix));
            // one machine, one clock: no margin for clocks that disagree (the default 1 s would span 100 of these steps)
            restoreConfig.put("lcckpt.restore.seek.margin.ms", "0");
            RestoredState pushdown = new Restorer(restoreConfig).restoreLatest(job, null);
            restoreConfig.put("lcckpt.restore.pushdown", "false");
            RestoredState whole = new Restorer(restoreConfig).restoreLatest(job, null);
            if (!Arrays.equals(pushdown.tensors().get("weights").floats(), whole.tensors().get("weights").floats())) {
                throw new IllegalStateException("the restores with and without pushdown differ");
            }
            RestoreRun run = new RestoreRun(steps, parameters, sent, whole.bytesRead(), whole.elapsed().toNanos() / 1e9, pushdown.bytesRead(),
                    pushdown.elapsed().toNanos() / 1e9, pushdown.superstep(), pushdown.deltasApplied());
            say("");
            say("restore after %d steps of %,d parameters (split=trainer, supersteps every 50, 3 retained): naive replay %.1f MB;"
                            + " whole retained topic %.1f MB in %.2f s; pushdown %.1f MB in %.2f s (superstep %d + %d chunk records): %.1fx fewer bytes than replay",
                    steps, parameters, run.naiveBytes() / 1e6, run.fullBytes() / 1e6, run.fullSeconds(), run.pushdownBytes() / 1e6, run.pushdownSeconds(),
                    run.superstep(), run.deltas(), (double) run.naiveBytes() / run.pushdownBytes());
            return run;
        } finally {
            encoder.close(Duration.ofSeconds(60));
        }
    }

    // ---------------------------------------------------------------- memory budget

    private List<MemoryRun> memoryExperiment(EmbeddedKafka kafka) throws Exception {
        int[] counts = quick ? new int[] {1, 4} : new int[] {1, 2, 4, 8, 16};
        List<MemoryRun> runs = new ArrayList<>();
        say("");
        say("%d jobs against one encoder at -Xmx512m (2M parameters per job, 8 steps each, published as fast as they go):", counts[counts.length - 1]);
        say("%-8s %6s %10s %10s %16s %s", "budget", "jobs", "completed", "seconds", "values/s coded", "memory / failure");
        for (boolean budget : new boolean[] {true, false}) {
            for (int jobs : counts) {
                MemoryRun run = memoryRun(kafka, budget, jobs);
                runs.add(run);
                say("%-8s %6d %10s %10.1f %,16.0f %s", budget ? "256 MB" : "none", jobs, run.completed(), run.seconds(), run.valuesPerSecond(),
                        run.completed() ? run.memory() : run.failure());
                if (!run.completed()) {
                    break; // the failure point without the budget: more jobs only fail sooner
                }
            }
        }
        return runs;
    }

    private MemoryRun memoryRun(EmbeddedKafka kafka, boolean budget, int jobs) throws Exception {
        String prefix = "hapi-mem-" + (budget ? "b" : "n") + jobs;
        Path directory = Files.createTempDirectory("lcckpt-hapi-mem-");
        Path properties = directory.resolve("encoder.properties");
        List<String> lines = new ArrayList<>(List.of("bootstrap.servers=" + kafka.bootstrapServers(), "application.id=" + prefix,
                "lcckpt.topic.prefix=" + prefix, "state.dir=" + directory.resolve("state"), "num.stream.threads=2"));
        if (budget) {
            lines.add("lcckpt.memory.budget=" + (256L << 20));
        }
        Files.write(properties, lines);
        Path log = directory.resolve("encoder.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-Xmx512m", "-XX:+ExitOnOutOfMemoryError", "-cp", System.getProperty("java.class.path"),
                "io.lccheckpoint.encoder.EncoderApp", properties.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long parameters = 2_000_000;
        int steps = 8;
        String[] names = new String[jobs];
        for (int k = 0; k < jobs; k++) {
            names[k] = "job-" + k;
        }
        Completion completion = new Completion(kafka.bootstrapServers(), new Topics(prefix).encoderProgress(), names);
        long begin = System.nanoTime();
        List<Thread> trainers = new ArrayList<>();
        List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        try {
            for (int k = 0; k < jobs; k++) {
                String job = "job-" + k;
                Thread thread = new Thread(() -> {
                    Map<String, Object> config = new HashMap<>();
                    config.put("bootstrap.servers", kafka.bootstrapServers());
                    config.put("lcckpt.topic.prefix", prefix);
                    config.put("lcckpt.job", job);
                    config.put("lcckpt.topic.partitions", 2);
                    config.put("lcckpt.buffer.memory", 16L << 20);
                    SplittableRandom random = new SplittableRandom(job.hashCode());
                    float[] model = new float[(int) parameters];
                    try (CheckpointProducer producer = new CheckpointProducer(config)) {
                        producer.registerTensor("weights", new long[] {parameters}, DType.FLOAT32);
                        for (int step = 0; step <= steps; step++) {
                            for (int i = 0; i < model.length; i += 1 + random.nextInt(4)) {
                                model[i] += (float) (random.nextGaussian() * 1e-3);
                            }
                            producer.publish(step, Map.of("weights", model));
                        }
                        producer.drain();
                    } catch (RuntimeException e) {
                        errors.add(e);
                    }
                }, "hapi-trainer-" + k);
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
                done = completion.complete(steps);
                if (!done) {
                    Thread.sleep(100);
                }
            }
            double seconds = (System.nanoTime() - begin) / 1e9;
            String text = Files.exists(log) ? Files.readString(log) : "";
            if (!done) {
                String failure = text.contains("OutOfMemoryError") ? "OutOfMemoryError in the encoder" : !child.isAlive()
                        ? "the encoder exited (" + child.exitValue() + ")" : "not complete after " + (jobs + 3) + " minutes";
                return new MemoryRun(budget, jobs, false, seconds, 0, failure, "");
            }
            child.destroy(); // SIGTERM: the encoder prints its memory figures on the way out
            child.waitFor(60, TimeUnit.SECONDS);
            String memory = Files.readString(log).lines().filter(line -> line.contains("memory figures")).reduce((a, b) -> b)
                    .map(line -> line.substring(line.indexOf("memory figures") + "memory figures".length()).trim()).orElse("(no figures)");
            return new MemoryRun(budget, jobs, true, seconds, (double) jobs * parameters * steps / seconds, null, memory);
        } finally {
            completion.close();
            child.destroyForcibly();
        }
    }

    // ---------------------------------------------------------------- report

    private void writeSection(List<SplitRun> splits, List<MemoryRun> memory, RestoreRun restore, double elapsed) throws java.io.IOException {
        StringBuilder md = new StringBuilder();
        md.append("## Splitting the work between trainers and the storage tier (HAPI, issue #5)\n\n");
        md.append(String.format(Locale.ROOT, "Regenerated by `./lcckpt eval hapi%s` (%.0f s on this machine: %d cores; the broker in a child JVM, the"
                + " encoder and the trainers in this one unless said otherwise, all on the same cores). HAPI (SoCC '24) reports up to 11x"
                + " faster and 8.3x fewer bytes in its v1, and in its final version picks the best split, or one within 5%% of it, in 86.8%%"
                + " of cases.%n%n", quick ? " --quick" : "", elapsed, Runtime.getRuntime().availableProcessors()));
        md.append("### Split point under a slow network\n\n")
                .append("The trainer publishes a step of SGD-like deltas after a simulated compute time (20 ms per million parameters);")
                .append(" the network between trainer and brokers is throttled with a `producer_byte_rate` client quota on the trainer's")
                .append(" client id (from the start: the initial full state crosses it too, and the figures below start after it). Each configuration runs at least 3 steps and at least `--seconds`;")
                .append(" step time is the steady state: between the completions (at the encoder) of the middle step and the last one,")
                .append(" so the first half (warm-up, and `auto`'s settling) is left out. CPU (per step over the whole run) from the")
                .append(" threads' CPU time: the producer's sender and network threads")
                .append(" (trainer side), the encoder's stream and producer threads (storage side). `auto` starts with the initial state")
                .append(" on both sides, makes its first plan when step 1 is built (from the initial state's transfer and a probe of the")
                .append(" local coding) and then plans every 3 steps.\n\n");
        md.append("| parameters | quota | split | step time | steps | trainer CPU per step | network per step | encoder CPU per step | ends as |\n")
                .append("|---:|---|---|---:|---:|---:|---:|---:|---|\n");
        for (SplitRun r : splits) {
            md.append(String.format(Locale.ROOT, "| %dM | %s | %s | %.3f s | %d | %.3f s | %.2f MB | %.3f s | %s (%d switches) |%n", r.parameters() / 1_000_000,
                    r.quotaMBps() == 0 ? "none" : String.format(Locale.ROOT, "%.0f MB/s", r.quotaMBps()), r.split(), r.stepSeconds(), r.steps(),
                    r.trainerCpuPerStep(), r.networkBytesPerStep() / 1e6, r.encoderCpuPerStep(), r.finalSplit(), r.switches()));
        }
        // targets
        int configurations = 0;
        int autoWithin = 0;
        StringBuilder misses = new StringBuilder();
        Map<String, Map<String, SplitRun>> byConfig = new LinkedHashMap<>();
        for (SplitRun r : splits) {
            byConfig.computeIfAbsent(r.parameters() + "/" + r.quotaMBps(), k -> new LinkedHashMap<>()).put(r.split(), r);
        }
        for (Map<String, SplitRun> config : byConfig.values()) {
            SplitRun auto = config.get("auto");
            double best = Math.min(config.get("storage").stepSeconds(), config.get("trainer").stepSeconds());
            configurations++;
            if (auto.stepSeconds() <= 1.05 * best) {
                autoWithin++;
            } else {
                misses.append(String.format(Locale.ROOT, " %dM at %s: auto %.3f s vs best %.3f s;", auto.parameters() / 1_000_000,
                        auto.quotaMBps() == 0 ? "no quota" : String.format(Locale.ROOT, "%.0f MB/s", auto.quotaMBps()), auto.stepSeconds(), best));
            }
        }
        md.append(String.format(Locale.ROOT, "%nTargets: `auto` within 5%% of the best fixed split in %d of %d configurations (%.0f%%; target >= 85%%): %s.%s%n",
                autoWithin, configurations, 100.0 * autoWithin / configurations, 100.0 * autoWithin / configurations >= 85 ? "met" : "**missed**",
                misses.length() == 0 ? "" : " Off by more:" + misses));
        long largest = splits.stream().mapToLong(SplitRun::parameters).max().orElse(0);
        double slowest = splits.stream().filter(r -> r.quotaMBps() > 0).mapToDouble(SplitRun::quotaMBps).min().orElse(0);
        SplitRun storage = find(splits, largest, slowest, "storage");
        SplitRun auto = find(splits, largest, slowest, "auto");
        if (storage != null && auto != null) {
            double speedup = storage.stepSeconds() / auto.stepSeconds();
            md.append(String.format(Locale.ROOT, "`auto` against `storage` at %.0f MB/s with %dM parameters: %.1fx faster per step (target >= 5x for 50M): %s.%n",
                    slowest, largest / 1_000_000, speedup, largest >= 50_000_000 ? (speedup >= 5 ? "met" : "**missed**") : "not measured at 50M in this run"));
        }
        md.append("\n### Restore pushdown\n\n");
        md.append(String.format(Locale.ROOT, "A job of %,d parameters, %d steps (10 ms of compute each) with `split=trainer`, supersteps every 50 steps,"
                        + " 3 retained, restored with `lcckpt.restore.seek.margin.ms=0` (one clock here). Naive replay"
                        + " (the initial state and every step's coded chunks, as sent): %.1f MB. Reading the whole retained checkpoint topic: %.1f MB in %.2f s."
                        + " With pushdown (the index topic, then a seek to the base superstep): %.1f MB in %.2f s, from superstep %d with %d chunk records"
                        + " after it: **%.1fx fewer bytes than naive replay** (target >= 5x: %s) and %.1fx fewer than reading the retained topic.%n",
                restore.parameters(), restore.steps(), restore.naiveBytes() / 1e6, restore.fullBytes() / 1e6, restore.fullSeconds(),
                restore.pushdownBytes() / 1e6, restore.pushdownSeconds(), restore.superstep(), restore.deltas(),
                (double) restore.naiveBytes() / restore.pushdownBytes(), (double) restore.naiveBytes() / restore.pushdownBytes() >= 5 ? "met" : "**missed**",
                (double) restore.fullBytes() / restore.pushdownBytes()));
        md.append("\n### Many jobs against a small encoder\n\n");
        md.append("The encoder runs in its own JVM at `-Xmx512m` (`-XX:+ExitOnOutOfMemoryError`, 2 stream threads), with `lcckpt.memory.budget=256 MB`")
                .append(" or with Kafka's defaults; each job publishes 8 steps of 2M parameters (storage split, 2 partitions) as fast as it can.\n\n");
        md.append("| budget | jobs | completed | seconds | values coded per second | memory (budget runs) or failure |\n|---|---:|---|---:|---:|---|\n");
        for (MemoryRun r : memory) {
            md.append(String.format(Locale.ROOT, "| %s | %d | %s | %.1f | %,.0f | %s |%n", r.budget() ? "256 MB" : "none", r.jobs(), r.completed() ? "yes" : "**no**",
                    r.seconds(), r.valuesPerSecond(), r.completed() ? r.memory() : r.failure()));
        }
        int most = memory.stream().filter(MemoryRun::budget).mapToInt(MemoryRun::jobs).max().orElse(0);
        boolean allBudgetDone = memory.stream().filter(MemoryRun::budget).allMatch(MemoryRun::completed);
        md.append(String.format(Locale.ROOT, "%nTarget: with the budget, %d concurrent jobs complete at -Xmx512m: %s.", most,
                allBudgetDone && most >= 16 ? "met" : allBudgetDone ? "met up to " + most + " jobs (the quick run stops there)" : "**missed**"));
        MemoryRun firstFailure = memory.stream().filter(r -> !r.budget() && !r.completed()).findFirst().orElse(null);
        md.append(firstFailure == null ? " Without it, no run failed up to " + memory.stream().filter(r -> !r.budget()).mapToInt(MemoryRun::jobs).max().orElse(0)
                + " jobs: the failure point was not reached.\n" : " Without it, the first failure: " + firstFailure.jobs() + " jobs (" + firstFailure.failure() + ").\n");
        ReportSections.write(report, SECTION, md.toString());
        say("section written to %s", report);
    }

    private static SplitRun find(List<SplitRun> runs, long parameters, double quota, String split) {
        return runs.stream().filter(r -> r.parameters() == parameters && r.quotaMBps() == quota && r.split().equals(split)).findFirst().orElse(null);
    }

    private static void say(String format, Object... arguments) {
        System.out.println(String.format(Locale.ROOT, format, arguments));
    }
}
