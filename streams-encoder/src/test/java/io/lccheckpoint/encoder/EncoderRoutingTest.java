package io.lccheckpoint.encoder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.ChunkKey;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.DeadLetter;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.RemainingStages;
import io.lccheckpoint.schema.StepManifest;
import io.lccheckpoint.schema.TensorInfo;
import io.lccheckpoint.schema.kafka.SingleObjectSerde;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;

/**
 * Where records go when a job's topics are missing (issue #11: one stray record stopped every job), and the reliability
 * defaults the encoder runs with.
 */
class EncoderRoutingTest {
    private static final int N = 100;

    @Test
    void aRecordOfAJobWithoutItsTopicsIsDeadLetteredOnTheEncodersTopicAndOtherJobsGoOn() {
        Set<String> existing = new HashSet<>(Set.of("lcckpt.real.checkpoints", "lcckpt.real.index", "lcckpt.real.dead-letters",
                "lcckpt.half.checkpoints", "lcckpt.half.index"));
        try (TopologyTestDriver driver = driver(existing::contains)) {
            TestOutputTopic<byte[], byte[]> own = output(driver, "lcckpt.encoder-dead-letters");
            TestOutputTopic<byte[], byte[]> realLetters = output(driver, "lcckpt.real.dead-letters");
            TestOutputTopic<byte[], byte[]> realCheckpoints = output(driver, "lcckpt.real.checkpoints");
            TestOutputTopic<byte[], byte[]> halfCheckpoints = output(driver, "lcckpt.half.checkpoints");

            driver.createInputTopic("lcckpt.stray.raw-deltas", new ByteArraySerializer(), new ByteArraySerializer())
                    .pipeInput("junk".getBytes(), new byte[] {1, 2, 3});
            publishInitial(driver, "real");
            // a job with checkpoint and index topics but no dead-letter topic: its bad record goes to the encoder's topic
            driver.createInputTopic("lcckpt.half.raw-deltas", new ByteArraySerializer(), new ByteArraySerializer())
                    .pipeInput("junk".getBytes(), new byte[] {9});
            publishInitial(driver, "half");

            List<DeadLetter> letters = own.readValuesToList().stream().map(value -> (DeadLetter) SingleObjectSerde.decode(value)).toList();
            assertThat(letters).hasSize(2);
            assertThat(letters.get(0).getSourceTopic()).isEqualTo("lcckpt.stray.raw-deltas");
            assertThat(letters.get(0).getReason()).startsWith("job stray has no topic lcckpt.stray.checkpoints");
            assertThat(letters.get(0).getPayload().remaining()).isEqualTo(3);
            assertThat(letters.get(1).getSourceTopic()).isEqualTo("lcckpt.half.raw-deltas");
            assertThat(letters.get(1).getReason()).startsWith("undecodable record");
            assertThat(realLetters.isEmpty()).isTrue();
            assertThat(kinds(realCheckpoints)).contains(RecordKind.SUPERSTEP_CHUNK, RecordKind.STEP_COMPLETE);
            assertThat(kinds(halfCheckpoints)).contains(RecordKind.SUPERSTEP_CHUNK, RecordKind.STEP_COMPLETE);
        }
    }

    @Test
    void aJobWithoutAnIndexTopicIsNotCodedAndSaysWhichTopicIsMissing() {
        Set<String> existing = Set.of("lcckpt.noindex.checkpoints", "lcckpt.noindex.dead-letters");
        try (TopologyTestDriver driver = driver(existing::contains)) {
            TestOutputTopic<byte[], byte[]> letters = output(driver, "lcckpt.noindex.dead-letters");
            TestOutputTopic<byte[], byte[]> checkpoints = output(driver, "lcckpt.noindex.checkpoints");
            publishInitial(driver, "noindex");
            List<DeadLetter> dead = letters.readValuesToList().stream().map(value -> (DeadLetter) SingleObjectSerde.decode(value)).toList();
            assertThat(dead).hasSize(2).allSatisfy(letter -> assertThat(letter.getReason()).startsWith("job noindex has no topic lcckpt.noindex.index"));
            assertThat(checkpoints.isEmpty()).isTrue();
        }
    }

    @Test
    void aDeadLetterKeepsTheRecordWholeOrItsFirstBytesIfItIsTooLarge() {
        int limit = ChunkOutputs.deadLetterRecordLimit(new EncoderSettings(Map.of()).getInt(EncoderSettings.MAX_RECORD_BYTES_CONFIG));
        try (TopologyTestDriver driver = driver(TopicCheck.ALL_EXIST)) {
            TestOutputTopic<byte[], byte[]> letters = output(driver, "lcckpt.big.dead-letters");
            TestInputTopic<byte[], byte[]> raw = driver.createInputTopic("lcckpt.big.raw-deltas", new ByteArraySerializer(), new ByteArraySerializer());
            byte[] fits = new byte[limit];
            fits[limit - 1] = 7;
            raw.pipeInput("k".getBytes(), fits);
            DeadLetter whole = (DeadLetter) SingleObjectSerde.decode(letters.readValue());
            assertThat(whole.getPayload().remaining()).isEqualTo(limit);
            assertThat(whole.getReason()).doesNotContain("are kept");
            byte[] large = new byte[limit + 1];
            large[limit - 1] = 9;
            raw.pipeInput("k".getBytes(), large);
            DeadLetter cut = (DeadLetter) SingleObjectSerde.decode(letters.readValue());
            assertThat(cut.getPayload().remaining()).isEqualTo(limit);
            assertThat(cut.getPayload().get(limit - 1)).isEqualTo((byte) 9);
            assertThat(cut.getReason()).contains("(the record is " + (limit + 1) + " bytes: its first " + limit + " are kept)");
        }
    }

    @Test
    void aChunkWithoutItsChunkKeyIsDeadLetteredForItsKeyNotAsAMissingInitialState() {
        try (TopologyTestDriver driver = driver(TopicCheck.ALL_EXIST)) {
            TestOutputTopic<byte[], byte[]> letters = output(driver, "lcckpt.keys.dead-letters");
            var raw = driver.createInputTopic("lcckpt.keys.raw-deltas", new ByteArraySerializer(), new ByteArraySerializer());
            ByteBuffer values = ByteBuffer.allocate(4 * N).order(ByteOrder.LITTLE_ENDIAN);
            byte[] chunk = SingleObjectSerde.encode(new RawDeltaChunk("keys", 1L, 3L, "w", 0, 1, 1, DType.FLOAT32, false, values,
                    RemainingStages.ALL, null, false, false, 2L, null, null));
            raw.pipeInput((byte[]) null, chunk);
            raw.pipeInput("garbage".getBytes(), chunk);
            raw.pipeInput(SingleObjectSerde.encode(new ChunkKey("keys", "w", 1)), chunk);
            List<String> reasons = letters.readValuesToList().stream().map(value -> ((DeadLetter) SingleObjectSerde.decode(value)).getReason()).toList();
            assertThat(reasons).hasSize(3);
            assertThat(reasons.get(0)).startsWith("record has no key");
            assertThat(reasons.get(1)).startsWith("undecodable key");
            assertThat(reasons.get(2)).isEqualTo("key names job keys, tensor w, chunk 1 but the record is job keys, tensor w, chunk 0");
        }
    }

    @Test
    void everyRunningTaskBeatsAndAClosedOneNoLongerCounts() {
        AtomicLong now = new AtomicLong(1_000);
        TaskHeartbeats heartbeats = new TaskHeartbeats(now::get);
        assertThat(heartbeats.longestSilenceMs()).isZero();
        heartbeats.beat("encode 0_0");
        heartbeats.beat("complete 1_0");
        now.addAndGet(5_000);
        heartbeats.beat("complete 1_0");
        assertThat(heartbeats.longestSilenceMs()).isEqualTo(5_000);
        assertThat(heartbeats.stalest()).isEqualTo("encode 0_0");
        heartbeats.remove("encode 0_0");
        assertThat(heartbeats.longestSilenceMs()).isZero();
    }

    @Test
    void everyProcessorsTaskBeatsFromItsWallClockPunctuator() {
        AtomicLong now = new AtomicLong(0);
        TaskHeartbeats heartbeats = new TaskHeartbeats(now::get);
        EncoderSettings settings = new EncoderSettings(Map.of());
        Properties properties = EncoderApp.streamsConfig(settings);
        properties.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        try (TopologyTestDriver driver = new TopologyTestDriver(EncoderTopology.build(settings, TopicCheck.ALL_EXIST, heartbeats), properties)) {
            now.set(5_000);
            assertThat(heartbeats.longestSilenceMs()).as("silent while the thread does not come round").isEqualTo(5_000);
            driver.advanceWallClockTime(java.time.Duration.ofSeconds(1));
            assertThat(heartbeats.longestSilenceMs()).as("every task beat when the thread came round").isZero();
        }
        assertThat(heartbeats.longestSilenceMs()).as("closed tasks no longer count").isZero();
        now.set(60_000);
        assertThat(heartbeats.longestSilenceMs()).isZero();
    }

    @Test
    void theEncoderWaitsForBrokersLongerThanItsWatchdogAndFailsOnAnyWriteError() {
        Properties properties = EncoderApp.streamsConfig(new EncoderSettings(Map.of()));
        long maxBlock = ((Number) properties.get(StreamsConfig.producerPrefix("max.block.ms"))).longValue();
        long maxPoll = ((Number) properties.get(StreamsConfig.consumerPrefix("max.poll.interval.ms"))).longValue();
        assertThat(maxBlock).isGreaterThan(new EncoderSettings(Map.of()).getLong(EncoderSettings.STALL_EXIT_MS_CONFIG));
        assertThat(maxPoll).isGreaterThan(maxBlock);
        assertThat(properties.get(StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG)).isEqualTo(FailOnSendError.class.getName());
        assertThat(properties.get(StreamsConfig.consumerPrefix("session.timeout.ms"))).isEqualTo(10_000);
        // a user who shortens max.block.ms below the watchdog is told at start-up, naming the setting
        assertThatThrownBy(() -> EncoderApp.streamsConfig(new EncoderSettings(Map.of("producer.max.block.ms", "60000"))))
                .isInstanceOf(ConfigException.class).hasMessageContaining(EncoderSettings.STALL_EXIT_MS_CONFIG);
        // what the user sets explicitly wins
        assertThat(EncoderApp.streamsConfig(new EncoderSettings(Map.of("consumer.session.timeout.ms", "6000")))
                .get(StreamsConfig.consumerPrefix("session.timeout.ms"))).isEqualTo("6000");
    }

    private static TopologyTestDriver driver(TopicCheck check) {
        EncoderSettings settings = new EncoderSettings(Map.of());
        Properties properties = EncoderApp.streamsConfig(settings);
        properties.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        return new TopologyTestDriver(EncoderTopology.build(settings, check, new TaskHeartbeats()), properties);
    }

    private static TestOutputTopic<byte[], byte[]> output(TopologyTestDriver driver, String topic) {
        return driver.createOutputTopic(topic, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private static List<RecordKind> kinds(TestOutputTopic<byte[], byte[]> topic) {
        return topic.readKeyValuesToList().stream().map(kv -> ((CheckpointKey) SingleObjectSerde.decode(kv.key)).getKind()).toList();
    }

    /** A job's initial state: a manifest and one chunk. */
    private static void publishInitial(TopologyTestDriver driver, String job) {
        var raw = driver.createInputTopic("lcckpt." + job + ".raw-deltas", new ByteArraySerializer(), new ByteArraySerializer());
        raw.pipeInput(SingleObjectSerde.encode(new ChunkKey(job, "", -1)), SingleObjectSerde.encode(new StepManifest(job, 1L, 0L, null,
                List.of(new TensorInfo("w", List.of((long) N), DType.FLOAT32, N, 1, null)), null)));
        ByteBuffer values = ByteBuffer.allocate(4 * N).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < N; i++) {
            values.putFloat(i * 0.01f);
        }
        values.flip();
        raw.pipeInput(SingleObjectSerde.encode(new ChunkKey(job, "w", 0)), SingleObjectSerde.encode(
                new RawDeltaChunk(job, 1L, 0L, "w", 0, 1, 1, DType.FLOAT32, true, values, RemainingStages.ALL, null, false, false, null, null, null)));
    }
}
