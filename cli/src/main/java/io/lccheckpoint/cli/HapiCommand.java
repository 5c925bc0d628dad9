package io.lccheckpoint.cli;

import io.lccheckpoint.embedded.EmbeddedKafka;
import io.lccheckpoint.embedded.TempDirectories;
import io.lccheckpoint.eval.Plots;
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
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.quota.ClientQuotaAlteration;
import org.apache.kafka.common.quota.ClientQuotaEntity;
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

    @Option(names = "--repeat", description = "Rounds of the split and memory experiments; a configuration's figure is the median"
            + " of its rounds (default 3, 1 with --quick). Two cores shared by broker, encoder and trainer vary by tens of percent between runs.")
    Integer repeat;

    @Option(names = "--part", split = ",", description = "Only these parts: split, restore, memory (default all). The report's section is"
            + " written only when all three ran.")
    List<String> parts;

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /** One configuration's outcome. */
    record SplitRun(int round, long parameters, double quotaMBps, String split, int steps, double stepSeconds, double trainerCpuPerStep,
                    double networkBytesPerStep, double encoderCpuPerStep, String finalSplit, long switches) {
    }

    record MemoryRun(boolean budget, int jobs, boolean completed, double seconds, double valuesPerSecond, String failure, String memory) {
        /** The live heap's peak in the encoder's memory figures (MB), or -1. */
        long liveHeapPeak() {
            var matcher = java.util.regex.Pattern.compile("live heap after collections peak (\\d+) MB").matcher(memory);
            return matcher.find() ? Long.parseLong(matcher.group(1)) : -1;
        }
    }

    record RestoreRun(int steps, long parameters, long naiveBytes, long fullBytes, double fullSeconds, long pushdownBytes, double pushdownSeconds,
                      long superstep, long deltas) {
    }

    @Override
    public Integer call() throws Exception {
        long start = System.nanoTime();
        int rounds = repeat != null ? repeat : quick ? 1 : 3;
        if (rounds < 1) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "--repeat must be at least 1 (got " + rounds + ")");
        }
        List<String> selected = parts == null ? List.of("split", "restore", "memory") : parts;
        for (String part : selected) {
            if (!List.of("split", "restore", "memory").contains(part)) {
                throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "--part: unknown part '" + part
                        + "' (split, restore, memory)");
            }
        }
        List<SplitRun> splits = new ArrayList<>();
        List<MemoryRun> memory = new ArrayList<>();
        RestoreRun restore = null;
        try (EmbeddedKafka kafka = EmbeddedKafka.start(Duration.ofSeconds(90),
                Map.of("quota.window.size.seconds", "1", "quota.window.num", "4"))) {
            if (selected.contains("split")) {
                splits.addAll(splitExperiment(kafka, rounds));
            }
            if (selected.contains("restore")) {
                restore = restoreExperiment(kafka);
            }
            if (selected.contains("memory")) {
                memory.addAll(memoryExperiment(kafka, rounds));
            }
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        if (selected.containsAll(List.of("split", "restore", "memory"))) {
            writeSection(splits, memory, restore, elapsed, rounds);
        } else {
            say("only %s ran: %s not rewritten", selected, report);
        }
        return 0;
    }

    // ---------------------------------------------------------------- split point under quotas

    /**
     * Every configuration once per round; later rounds run in another order of splits (so what drifts over a round does not
     * always fall on the same split) and skip a fixed split more than {@link #HOPELESS} times slower than the other fixed
     * split in the first round: it cannot be the best, and at 5 MB/s one such run takes minutes.
     */
    private List<SplitRun> splitExperiment(EmbeddedKafka kafka, int rounds) throws Exception {
        long[] sizes = quick ? new long[] {10_000_000L} : new long[] {10_000_000L, 50_000_000L};
        double[] quotas = quick ? new double[] {5, 0} : new double[] {5, 25, 100, 0};
        String prefix = "hapi-split";
        KafkaStreams encoder = EmbeddedEncoder.start(kafka, prefix, prefix);
        List<SplitRun> runs = new ArrayList<>();
        String[] splits = {"storage", "trainer", "auto"};
        try {
            for (int round = 0; round < rounds; round++) {
                for (long parameters : sizes) {
                    float[] pattern = deltaPattern(parameters);
                    // the trainer's compute per step (a GPU step the checkpointing runs beside): 20 ms per million parameters
                    long computeMillis = parameters / 50_000;
                    say("");
                    say("split point, round %d of %d, %,d parameters (%.0f MB raw per step), %d ms of compute per step:", round + 1, rounds, parameters,
                            4e-6 * parameters, computeMillis);
                    say("%-12s %-8s %10s %8s %14s %16s %16s %s", "quota", "split", "step (s)", "steps", "trainer CPU/step", "network MB/step",
                            "encoder CPU/step", "ends as");
                    for (double quota : quotas) {
                        for (int k = 0; k < splits.length; k++) {
                            String split = splits[(k + round) % splits.length];
                            if (round > 0 && !split.equals("auto")) {
                                SplitRun first = find(runs, parameters, quota, split);
                                SplitRun other = find(runs, parameters, quota, split.equals("storage") ? "trainer" : "storage");
                                if (first.stepSeconds() > HOPELESS * other.stepSeconds()) {
                                    continue;
                                }
                            }
                            SplitRun run = splitRun(kafka, prefix, parameters, pattern, computeMillis, quota, split, round);
                            runs.add(run);
                            say("%-12s %-8s %10.3f %8d %13.3f s %16.2f %15.3f s %s (%d switches)", quotaLabel(quota, "none"),
                                    split, run.stepSeconds(), run.steps(), run.trainerCpuPerStep(), run.networkBytesPerStep() / 1e6, run.encoderCpuPerStep(),
                                    run.finalSplit(), run.switches());
                        }
                    }
                }
            }
        } finally {
            encoder.close(Duration.ofSeconds(60));
        }
        return runs;
    }

    /** A fixed split this many times slower than the other in the first round is not measured again. */
    static final double HOPELESS = 2.0;

    /** SGD-like deltas: 20% of the entries move at 1e-3, the rest at 1e-6 (fixed seed); steps use rotations of it. */
    private static float[] deltaPattern(long parameters) {
        SplittableRandom random = new SplittableRandom(42);
        float[] pattern = new float[(int) parameters];
        for (int i = 0; i < pattern.length; i++) {
            pattern[i] = (float) (random.nextGaussian() * (random.nextInt(5) == 0 ? 1e-3 : 1e-6));
        }
        return pattern;
    }

    private SplitRun splitRun(EmbeddedKafka kafka, String prefix, long parameters, float[] pattern, long computeMillis, double quota, String split,
                              int round) throws Exception {
        String job = String.format(Locale.ROOT, "p%dm-q%s-%s-r%d", parameters / 1_000_000, quota == 0 ? "none" : String.valueOf((int) quota), split,
                round + 1);
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
        // the previous configuration's arrays (up to 200 MB each at 50M parameters) are garbage now: collect them before
        // this one is timed rather than during it
        System.gc();
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
            SplitRun run = new SplitRun(round, parameters, quota, split, (int) step, Double.isNaN(steady) ? elapsed / step : steady, trainerCpu / step,
                    (double) (producer.bytesSent() - bytesBefore) / step, encoderCpu / step,
                    producer.currentSplit().name().toLowerCase(Locale.ROOT), producer.splitSwitches());
            setQuota(kafka, clientId, 0);
            expireRawDeltas(kafka, new Topics(prefix).rawDeltas(job));
            return run;
        } finally {
            completion.close();
        }
    }

    /**
     * A finished configuration's raw deltas are coded and committed: a retention of 1 s lets the broker drop them at its
     * next retention check (the raw steps of a full run add up to tens of GB). The encoder, subscribed by pattern, goes on.
     */
    private static void expireRawDeltas(EmbeddedKafka kafka, String topic) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            var resource = new org.apache.kafka.common.config.ConfigResource(org.apache.kafka.common.config.ConfigResource.Type.TOPIC, topic);
            var op = new org.apache.kafka.clients.admin.AlterConfigOp(new org.apache.kafka.clients.admin.ConfigEntry("retention.ms", "1000"),
                    org.apache.kafka.clients.admin.AlterConfigOp.OpType.SET);
            admin.incrementalAlterConfigs(Map.of(resource, List.of(op))).all().get();
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
         * Seconds per step in the steady state: the least-squares slope of completion time against step over the second
         * half of the steps (the first half is warm-up, and for split=auto the time it takes to settle). The encoder
         * commits about once a second, so completions come in bursts: a slope over all of them is steadier than the time
         * between two of them.
         */
        double steadyStepSeconds(String job, long last) {
            var completed = times.get(job).subMap(Math.max(1, last / 2), true, last, true);
            if (completed.size() < 3) {
                return Double.NaN;
            }
            double n = completed.size();
            double sx = 0;
            double sy = 0;
            double sxx = 0;
            double sxy = 0;
            long origin = completed.firstEntry().getValue();
            for (var entry : completed.entrySet()) {
                double x = entry.getKey();
                double y = (entry.getValue() - origin) / 1e9;
                sx += x;
                sy += y;
                sxx += x * x;
                sxy += x * y;
            }
            return (n * sxy - sx * sy) / (n * sxx - sx * sx);
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
        KafkaStreams encoder = EmbeddedEncoder.start(kafka, prefix, prefix);
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
            // the progress topic said every chunk of the last step is coded; its markers (checkpoint and index topics) are
            // written by the completion stage in a later transaction: wait (bounded) until the latest restorable step is the
            // last one. A restore that read the index before that commit and the checkpoint topic after it rebuilds the last
            // step all the same, but from a seek to an older superstep (more bytes): the measured restore comes after
            RestoredState pushdown = new Restorer(restoreConfig).restoreLatest(job, null);
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (pushdown.step() < steps) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("job " + job + ": step " + steps + " was not restorable within 2 minutes (latest " + pushdown.step() + ")");
                }
                Thread.sleep(200);
                pushdown = new Restorer(restoreConfig).restoreLatest(job, null);
            }
            pushdown = new Restorer(restoreConfig).restoreLatest(job, null);
            restoreConfig.put("lcckpt.restore.pushdown", "false");
            RestoredState whole = new Restorer(restoreConfig).restore(job, steps, null);
            float[] a = pushdown.tensors().get("weights").floats();
            float[] b = whole.tensors().get("weights").floats();
            if (pushdown.step() != whole.step() || !Arrays.equals(a, b)) {
                int differ = 0;
                int first = -1;
                for (int i = 0; i < a.length; i++) {
                    if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                        differ++;
                        first = first < 0 ? i : first;
                    }
                }
                throw new IllegalStateException(String.format(Locale.ROOT, "job %s: the restores with and without pushdown differ: step %d (generation %d,"
                                + " superstep %d + %d chunk records) against step %d (generation %d, superstep %d + %d); %d of %d values differ, the first at %d",
                        job, pushdown.step(), pushdown.generation(), pushdown.superstep(), pushdown.deltasApplied(), whole.step(), whole.generation(),
                        whole.superstep(), whole.deltasApplied(), differ, a.length, first));
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

    private List<MemoryRun> memoryExperiment(EmbeddedKafka kafka, int rounds) throws Exception {
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
                    MemoryRun run = memoryRun(kafka, budget, jobs, round);
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

    private MemoryRun memoryRun(EmbeddedKafka kafka, boolean budget, int jobs, int round) throws Exception {
        String prefix = "hapi-mem-" + (budget ? "b" : "n") + jobs + "-r" + (round + 1);
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
        List<String> command = new ArrayList<>(List.of(java, "-Xmx512m", "-XX:+ExitOnOutOfMemoryError"));
        if (budget) {
            // a budget run that runs out of memory is a bug to find: keep what filled the heap
            command.addAll(List.of("-XX:+HeapDumpOnOutOfMemoryError", "-XX:HeapDumpPath=" + directory.resolve("encoder.hprof")));
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.lccheckpoint.encoder.EncoderApp", properties.toString()));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
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
            return new MemoryRun(budget, jobs, true, seconds, (double) jobs * parameters * steps / seconds, null, memory);
        } finally {
            completion.close();
            child.destroyForcibly();
        }
    }

    // ---------------------------------------------------------------- report

    void writeSection(List<SplitRun> splits, List<MemoryRun> memory, RestoreRun restore, double elapsed, int rounds) throws java.io.IOException {
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
                .append(" step time is the steady state: the least-squares slope of the steps' completion times (at the encoder) over the")
                .append(" second half of the steps, so the first half (warm-up, and `auto`'s settling) is left out (the encoder commits")
                .append(" once a second, so completions come in bursts; a slope over all of them is steadier than two end points). CPU (per step over the whole run) from the")
                .append(" threads' CPU time: the producer's sender and network threads")
                .append(" (trainer side), the encoder's stream and producer threads (storage side). `auto` starts with the initial state")
                .append(" on both sides, makes a provisional first plan when step 1 is built (from the initial state's transfer and a probe of the")
                .append(" local coding), the next two steps later and then plans every 3 steps.")
                .append(String.format(Locale.ROOT, " Every configuration ran in %d round(s), each round in another order of the splits; a row gives the"
                        + " round with the median step time, and the step time of every round. A fixed split more than %.0fx slower than the other"
                        + " in the first round ran once (it cannot be the best).%n%n", rounds, HOPELESS));
        md.append("| parameters | quota | split | step time (median) | each round | steps | trainer CPU per step | network per step | encoder CPU per step | ends as |\n")
                .append("|---:|---|---|---:|---|---:|---:|---:|---:|---|\n");
        Map<String, Map<String, List<SplitRun>>> byConfig = new LinkedHashMap<>();
        for (SplitRun r : splits) {
            byConfig.computeIfAbsent(r.parameters() + "/" + r.quotaMBps(), k -> new LinkedHashMap<>()).computeIfAbsent(r.split(), k -> new ArrayList<>()).add(r);
        }
        for (Map<String, List<SplitRun>> config : byConfig.values()) {
            for (String split : List.of("storage", "trainer", "auto")) {
                List<SplitRun> all = config.get(split);
                SplitRun r = median(all);
                StringBuilder each = new StringBuilder();
                all.stream().sorted(java.util.Comparator.comparingInt(SplitRun::round))
                        .forEach(x -> each.append(each.length() == 0 ? "" : " / ").append(String.format(Locale.ROOT, "%.3f", x.stepSeconds())));
                md.append(String.format(Locale.ROOT, "| %dM | %s | %s | %.3f s | %s | %d | %.3f s | %.2f MB | %.3f s | %s (%d switches) |%n", r.parameters() / 1_000_000,
                        quotaLabel(r.quotaMBps(), "none"), r.split(), r.stepSeconds(), each, r.steps(),
                        r.trainerCpuPerStep(), r.networkBytesPerStep() / 1e6, r.encoderCpuPerStep(), r.finalSplit(), r.switches()));
            }
        }
        // targets, on the medians
        int configurations = 0;
        int autoWithin = 0;
        int[] withinInRound = new int[rounds];
        StringBuilder misses = new StringBuilder();
        for (Map<String, List<SplitRun>> config : byConfig.values()) {
            SplitRun auto = median(config.get("auto"));
            double best = Math.min(median(config.get("storage")).stepSeconds(), median(config.get("trainer")).stepSeconds());
            configurations++;
            if (auto.stepSeconds() <= 1.05 * best) {
                autoWithin++;
            } else {
                misses.append(String.format(Locale.ROOT, " %dM at %s: auto %.3f s vs best %.3f s;", auto.parameters() / 1_000_000,
                        quotaLabel(auto.quotaMBps(), "no quota"), auto.stepSeconds(), best));
            }
            // the same criterion within each round alone (a fixed split skipped in a round counts with its first round)
            for (int round = 0; round < rounds; round++) {
                SplitRun autoRun = inRound(config.get("auto"), round);
                double bestRun = Math.min(inRound(config.get("storage"), round).stepSeconds(), inRound(config.get("trainer"), round).stepSeconds());
                if (autoRun.stepSeconds() <= 1.05 * bestRun) {
                    withinInRound[round]++;
                }
            }
        }
        md.append(String.format(Locale.ROOT, "%nTargets: `auto` (median of its rounds) within 5%% of the best fixed split (median of its rounds) in %d of %d"
                        + " configurations (%.0f%%; target >= 85%%): %s.%s%n", autoWithin, configurations, 100.0 * autoWithin / configurations,
                100.0 * autoWithin / configurations >= 85 ? "met" : "**missed**", misses.length() == 0 ? "" : " Off by more:" + misses));
        if (rounds > 1) {
            StringBuilder perRound = new StringBuilder();
            for (int round = 0; round < rounds; round++) {
                perRound.append(round == 0 ? "" : ", ").append(withinInRound[round]).append(" of ").append(configurations);
            }
            md.append(String.format(Locale.ROOT, "Within each round alone (one run of each split against one another): %s.%n", perRound));
        }
        md.append("\n![step time per split](eval/hapi-split.png)\n\n");
        splitPlot(byConfig);
        long largest = splits.stream().mapToLong(SplitRun::parameters).max().orElse(0);
        double slowest = splits.stream().filter(r -> r.quotaMBps() > 0).mapToDouble(SplitRun::quotaMBps).min().orElse(0);
        SplitRun storage = median(runsOf(splits, largest, slowest, "storage"));
        SplitRun auto = median(runsOf(splits, largest, slowest, "auto"));
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
                .append(" or with Kafka's defaults; each job publishes 8 steps of 2M parameters (storage split, 2 partitions) as fast as it can.");
        md.append(String.format(Locale.ROOT, " Every configuration ran %d time(s); seconds and values per second are the median of the completed runs, the memory"
                + " figures those of the run with the highest live heap.%n%n", rounds));
        md.append("| budget | jobs | completed | seconds | values coded per second | memory (budget runs) or failure |\n|---|---:|---|---:|---:|---|\n");
        Map<String, List<MemoryRun>> memoryByConfig = new LinkedHashMap<>();
        for (MemoryRun r : memory) {
            memoryByConfig.computeIfAbsent(r.budget() + "/" + r.jobs(), k -> new ArrayList<>()).add(r);
        }
        for (List<MemoryRun> all : memoryByConfig.values()) {
            MemoryRun first = all.get(0);
            List<MemoryRun> done = all.stream().filter(MemoryRun::completed).toList();
            String figures = done.stream().max(java.util.Comparator.comparingLong(MemoryRun::liveHeapPeak)).map(MemoryRun::memory).orElse("");
            String failures = all.stream().filter(r -> !r.completed()).map(MemoryRun::failure).distinct().reduce((x, y) -> x + "; " + y).orElse("");
            md.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s |%n", first.budget() ? "256 MB" : "none", first.jobs(),
                    done.size() == all.size() ? "yes (" + done.size() + " of " + all.size() + ")" : "**" + done.size() + " of " + all.size() + "**",
                    done.isEmpty() ? "-" : String.format(Locale.ROOT, "%.1f", medianOf(done.stream().mapToDouble(MemoryRun::seconds).toArray())),
                    done.isEmpty() ? "0" : String.format(Locale.ROOT, "%,.0f", medianOf(done.stream().mapToDouble(MemoryRun::valuesPerSecond).toArray())),
                    failures.isEmpty() ? figures : figures.isEmpty() ? failures : failures + "; completed runs: " + figures));
        }
        md.append("\n![values coded per second against concurrent jobs](eval/hapi-memory.png)\n");
        memoryPlot(memoryByConfig);
        int most = memory.stream().filter(MemoryRun::budget).mapToInt(MemoryRun::jobs).max().orElse(0);
        boolean allBudgetDone = memory.stream().filter(MemoryRun::budget).allMatch(MemoryRun::completed);
        md.append(String.format(Locale.ROOT, "%nTarget: with the budget, %d concurrent jobs complete at -Xmx512m in every run: %s.", most,
                allBudgetDone && most >= 16 ? "met" : allBudgetDone ? "met up to " + most + " jobs (the quick run stops there)" : "**missed**"));
        MemoryRun firstFailure = memory.stream().filter(r -> !r.budget() && !r.completed()).findFirst().orElse(null);
        md.append(firstFailure == null ? " Without it, no run failed up to " + memory.stream().filter(r -> !r.budget()).mapToInt(MemoryRun::jobs).max().orElse(0)
                + " jobs: the failure point was not reached.\n" : " Without it, the first failure: " + firstFailure.jobs() + " jobs (" + firstFailure.failure() + ").\n");
        ReportSections.write(report, SECTION, md.toString());
        say("section written to %s", report);
    }

    /** Median step time per configuration and split, on a log scale (they span 0.2 s to 40 s). */
    private void splitPlot(Map<String, Map<String, List<SplitRun>>> byConfig) throws java.io.IOException {
        List<String> groups = new ArrayList<>();
        Map<String, List<Double>> series = new LinkedHashMap<>();
        for (Map<String, List<SplitRun>> config : byConfig.values()) {
            SplitRun any = config.values().iterator().next().get(0);
            groups.add(String.format(Locale.ROOT, "%dM, %s", any.parameters() / 1_000_000, quotaLabel(any.quotaMBps(), "no quota")));
            for (String split : List.of("storage", "trainer", "auto")) {
                series.computeIfAbsent(split, k -> new ArrayList<>()).add(median(config.get(split)).stepSeconds());
            }
        }
        Plots.bars("Step time per split (median of rounds; log scale)", "parameters, quota", "seconds per step", groups, series, true,
                report.toAbsolutePath().getParent().resolve("eval").resolve("hapi-split.png"));
    }

    /** Median values coded per second against concurrent jobs, with and without the budget (0: no run completed). */
    private void memoryPlot(Map<String, List<MemoryRun>> byConfig) throws java.io.IOException {
        List<String> groups = new ArrayList<>();
        Map<String, List<Double>> series = new LinkedHashMap<>();
        series.put("budget 256 MB", new ArrayList<>());
        series.put("no budget", new ArrayList<>());
        for (List<MemoryRun> all : byConfig.values()) {
            String group = all.get(0).jobs() + (all.get(0).jobs() == 1 ? " job" : " jobs");
            if (!groups.contains(group)) {
                groups.add(group);
            }
        }
        for (List<MemoryRun> all : byConfig.values()) {
            double[] done = all.stream().filter(MemoryRun::completed).mapToDouble(MemoryRun::valuesPerSecond).toArray();
            series.get(all.get(0).budget() ? "budget 256 MB" : "no budget").add(done.length == 0 ? 0 : medianOf(done) / 1e6);
        }
        // a series that stopped at its failure point: the larger counts were not run
        series.values().forEach(values -> {
            while (values.size() < groups.size()) {
                values.add(0.0);
            }
        });
        Plots.bars("Encoder at -Xmx512m: values coded per second (0: failed or not run)", "concurrent jobs", "million values per second", groups,
                series, false, report.toAbsolutePath().getParent().resolve("eval").resolve("hapi-memory.png"));
    }

    /** The run with the median step time (the lower of the two middle ones for an even count); null for none. */
    static SplitRun median(List<SplitRun> runs) {
        if (runs == null || runs.isEmpty()) {
            return null;
        }
        List<SplitRun> sorted = runs.stream().sorted(java.util.Comparator.comparingDouble(SplitRun::stepSeconds)).toList();
        return sorted.get((sorted.size() - 1) / 2);
    }

    /** A configuration's run in {@code round}, or its first round's if it was not run again. */
    private static SplitRun inRound(List<SplitRun> runs, int round) {
        return runs.stream().filter(r -> r.round() == round).findFirst().orElse(runs.get(0));
    }

    private static double medianOf(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted.length % 2 == 1 ? sorted[sorted.length / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    }

    /** A configuration's runs of one split, in the order they ran. */
    private static List<SplitRun> runsOf(List<SplitRun> runs, long parameters, double quota, String split) {
        return runs.stream().filter(r -> r.parameters() == parameters && r.quotaMBps() == quota && r.split().equals(split)).toList();
    }

    /** A configuration's first run of one split (the first round's), or null. */
    private static SplitRun find(List<SplitRun> runs, long parameters, double quota, String split) {
        return runsOf(runs, parameters, quota, split).stream().findFirst().orElse(null);
    }

    /** "5 MB/s", or {@code none} for no quota. */
    private static String quotaLabel(double megabytesPerSecond, String none) {
        return megabytesPerSecond == 0 ? none : String.format(Locale.ROOT, "%.0f MB/s", megabytesPerSecond);
    }

    private static void say(String format, Object... arguments) {
        System.out.println(String.format(Locale.ROOT, format, arguments));
    }
}
