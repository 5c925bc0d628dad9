package io.lccheckpoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.embedded.BrokerBytes;
import io.lccheckpoint.embedded.EmbeddedKafka;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link BrokerBytes} against the embedded broker (child JVM): known records in, the broker's count out. */
class BrokerBytesIT {
    private static final String RAW = "lcckpt.bytes-job.raw-deltas";
    private static final String CHECKPOINTS = "lcckpt.bytes-job.checkpoints";
    private static final String CHANGELOG = "bytes-app-lcckpt-chunk-state-changelog";
    private static EmbeddedKafka kafka;

    @BeforeAll
    static void startBroker() throws Exception {
        kafka = EmbeddedKafka.start(Duration.ofSeconds(90));
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(RAW, 2, (short) 1), new NewTopic(CHECKPOINTS, 1, (short) 1), new NewTopic(CHANGELOG, 1, (short) 1)))
                    .all().get();
        }
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void theBrokersBytesInMetricCountsEveryPayloadByteAndLittleMore() throws Exception {
        try (BrokerBytes bytes = kafka.brokerBytes()) {
            BrokerBytes.Snapshot before = bytes.snapshot();
            long rawPayload = produce(RAW, 300, 10_000, false);
            long checkpointPayload = produce(CHECKPOINTS, 40, 3_000, false);
            Map<String, BrokerBytes.TopicBytes> written = bytes.between(before, bytes.snapshot(), List.of("bytes-app"));

            assertThat(written).containsOnlyKeys(RAW, CHECKPOINTS);
            assertMeasured(written.get(RAW), "raw-deltas", BrokerBytes.Source.BYTES_IN_METRIC, rawPayload, 300);
            assertMeasured(written.get(CHECKPOINTS), "checkpoints", BrokerBytes.Source.BYTES_IN_METRIC, checkpointPayload, 40);
            // nothing but batches on these topics: the log grew by what the metric counted
            assertThat(written.get(RAW).logGrowth()).isEqualTo(written.get(RAW).bytes());
            assertThat(BrokerBytes.byKind(written)).containsEntry("total", written.get(RAW).bytes() + written.get(CHECKPOINTS).bytes());
            assertThat(BrokerBytes.sources(written)).startsWith("broker BytesInPerSec metric (JMX)");
        }
    }

    @Test
    void coordinatorWritesAreMeasuredFromTheLogAndStreamsTopicsByStore() throws Exception {
        try (BrokerBytes bytes = kafka.brokerBytes()) {
            BrokerBytes.Snapshot before = bytes.snapshot();
            long changelogPayload = produce(CHANGELOG, 20, 5_000, true);
            commitOffset();
            Map<String, BrokerBytes.TopicBytes> written = bytes.between(before, bytes.snapshot(), List.of("bytes-app"));

            assertMeasured(written.get(CHANGELOG), "changelog:lcckpt-chunk-state", BrokerBytes.Source.BYTES_IN_METRIC, changelogPayload, 20);
            assertThat(written.get("__transaction_state")).satisfies(t -> {
                assertThat(t.kind()).isEqualTo("transaction-state");
                assertThat(t.source()).isEqualTo(BrokerBytes.Source.LOG_SIZE);
                assertThat(t.bytes()).isPositive();
            });
            assertThat(written.get("__consumer_offsets")).satisfies(t -> {
                assertThat(t.kind()).isEqualTo("consumer-offsets");
                assertThat(t.source()).isEqualTo(BrokerBytes.Source.LOG_SIZE);
                assertThat(t.bytes()).isPositive();
            });
        }
    }

    @Test
    void withoutJmxEveryTopicIsMeasuredFromItsLog() throws Exception {
        try (BrokerBytes bytes = new BrokerBytes(kafka.bootstrapServers(), List.of())) {
            BrokerBytes.Snapshot before = bytes.snapshot();
            long payload = produce(CHECKPOINTS, 30, 4_000, false);
            Map<String, BrokerBytes.TopicBytes> written = bytes.between(before, bytes.snapshot(), List.of());

            assertMeasured(written.get(CHECKPOINTS), "checkpoints", BrokerBytes.Source.LOG_SIZE, payload, 30);
            assertThat(BrokerBytes.sources(written)).isEqualTo("log size growth (describeLogDirs) for every topic (no JMX)");
        }
    }

    /** At least the keys and values; at most 1% and 100 bytes per record more (batch headers, record framing). */
    private static void assertMeasured(BrokerBytes.TopicBytes topic, String kind, BrokerBytes.Source source, long payload, int records) {
        assertThat(topic.kind()).isEqualTo(kind);
        assertThat(topic.source()).isEqualTo(source);
        assertThat(topic.bytes()).as(topic.topic()).isGreaterThanOrEqualTo(payload).isLessThanOrEqualTo((long) (payload * 1.01) + 100L * records);
    }

    /** Incompressible records (uncompressed): the bytes of their keys and values. */
    private static long produce(String topic, int records, int valueBytes, boolean transactional) {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put("linger.ms", 5);
        if (transactional) {
            config.put("transactional.id", "bytes-it-" + topic);
        }
        SplittableRandom random = new SplittableRandom(topic.hashCode());
        long payload = 0;
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
            if (transactional) {
                producer.initTransactions();
                producer.beginTransaction();
            }
            for (int i = 0; i < records; i++) {
                byte[] key = ("key-" + i).getBytes();
                byte[] value = new byte[valueBytes];
                random.nextBytes(value);
                producer.send(new ProducerRecord<>(topic, key, value));
                payload += key.length + value.length;
            }
            if (transactional) {
                producer.commitTransaction();
            }
            producer.flush();
        }
        return payload;
    }

    private static void commitOffset() {
        Map<String, Object> config = Map.of("bootstrap.servers", kafka.bootstrapServers(), "group.id", "bytes-it");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.commitSync(Map.of(new TopicPartition(CHECKPOINTS, 0), new OffsetAndMetadata(1)));
        }
    }
}
