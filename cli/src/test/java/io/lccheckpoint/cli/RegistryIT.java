package io.lccheckpoint.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.encoder.EncoderApp;
import io.lccheckpoint.producer.CheckpointProducer;
import io.lccheckpoint.restorer.Restorer;
import io.lccheckpoint.schema.ChunkKey;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.DeadLetter;
import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.kafka.SchemaRegistryClient;
import io.lccheckpoint.schema.kafka.WireFormat;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry path against a real schema registry on 127.0.0.1: Apicurio Registry 2.4.2 (built from Maven Central in
 * the registry-server module) through its Confluent-compatible API, and a real KRaft broker.
 */
class RegistryIT {
    private static final String PREFIX = "registry";
    private static Process registry;
    private static String registryUrl;
    private static KafkaCluster kafka;

    @TempDir
    static Path stateDir;

    @BeforeAll
    static void startRegistryAndBroker() throws Exception {
        Path jar = Path.of(System.getProperty("lcckpt.registry.jar", "../registry-server/target/registry-server-runner.jar"));
        assertThat(jar).as("the registry server (mvn install builds registry-server/)").exists();
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = socket.getLocalPort();
        }
        Path log = stateDir.resolve("registry.log");
        registry = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
                "-Dquarkus.http.host=127.0.0.1", "-Dquarkus.http.port=" + port, "-jar", jar.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        registryUrl = "http://127.0.0.1:" + port + "/apis/ccompat/v7";
        HttpClient http = HttpClient.newHttpClient();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() ->
                http.send(HttpRequest.newBuilder(URI.create(registryUrl + "/subjects")).build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
        kafka = KafkaCluster.start(false);
    }

    @AfterAll
    static void stop() throws Exception {
        if (registry != null) {
            registry.destroy();
            registry.waitFor();
        }
        if (kafka != null) {
            kafka.close();
        }
    }

    private static Map<String, Object> common() {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put("lcckpt.topic.prefix", PREFIX);
        config.put(WireFormat.REGISTRY_URL_CONFIG, registryUrl);
        return config;
    }

    @Test
    void recordsInTheConfluentFramingThroughTheRegistryRestoreBitForBit() throws Exception {
        String job = "framed";
        Map<String, Object> encoderConfig = common();
        encoderConfig.put("application.id", "registry-encoder");
        encoderConfig.put("state.dir", stateDir.resolve("encoder").toString());
        KafkaStreams encoder = EncoderApp.start(encoderConfig);
        SyntheticTrainer trainer = new SyntheticTrainer(5, Map.of("w", 40_000, "b", 17), 16_384, CodecOptions.zeroRun(2));
        try {
            Map<String, Object> producerConfig = common();
            producerConfig.put("lcckpt.job", job);
            producerConfig.put("lcckpt.chunk.values", 16_384);
            try (CheckpointProducer producer = new CheckpointProducer(producerConfig)) {
                trainer.state.forEach((name, values) -> producer.registerTensor(name, new long[] {values.length}, DType.FLOAT32));
                producer.publish(0, trainer.snapshot());
                for (long step = 1; step <= 5; step++) {
                    trainer.step();
                    producer.publish(step, trainer.snapshot());
                }
            }
            Restorer restorer = new Restorer(common());
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).until(() -> PipelineIT.latestStep(restorer, job) == 5);
            PipelineIT.assertBits(restorer.restoreLatest(job, null), trainer.expectedRestore());

            // on the wire: magic byte 0 and a 4-byte id the registry resolves to one of our schemas
            SchemaRegistryClient client = new SchemaRegistryClient(registryUrl, null);
            for (String topic : List.of(PREFIX + "." + job + ".raw-deltas", PREFIX + "." + job + ".checkpoints")) {
                List<byte[]> values = firstValues(topic, 5);
                assertThat(values).isNotEmpty().allSatisfy(value -> {
                    assertThat(value[0]).as("Confluent magic byte").isZero();
                    Schema schema = client.schemaById(ByteBuffer.wrap(value, 1, 4).getInt());
                    assertThat(schema.getNamespace()).isEqualTo("io.lccheckpoint.schema");
                });
            }
        } finally {
            encoder.close(Duration.ofSeconds(30));
        }
    }

    @Test
    void anIncompatibleSchemaChangeIsRefusedByTheRegistry() {
        SchemaRegistryClient client = new SchemaRegistryClient(registryUrl, null);
        String subject = StepComplete.getClassSchema().getFullName() + "-compat-check";
        client.setCompatibility(subject, "BACKWARD");
        client.register(subject, StepComplete.getClassSchema());
        // a new field without a default cannot read the old records
        String json = StepComplete.getClassSchema().toString().replace("\"fields\":[", "\"fields\":[{\"name\":\"tenant\",\"type\":\"string\"},");
        Schema incompatible = new Schema.Parser().parse(json);
        assertThat(client.isCompatible(subject, incompatible)).isFalse();
        assertThatThrownBy(() -> client.register(subject, incompatible))
                .isInstanceOf(SchemaRegistryClient.SchemaRegistryException.class)
                .satisfies(e -> assertThat(((SchemaRegistryClient.SchemaRegistryException) e).status()).isEqualTo(409));
        // a compatible evolution (a new field with a default) is accepted
        String evolved = StepComplete.getClassSchema().toString().replace("\"fields\":[",
                "\"fields\":[{\"name\":\"note\",\"type\":\"string\",\"default\":\"\"},");
        assertThat(client.isCompatible(subject, new Schema.Parser().parse(evolved))).isTrue();
    }

    @Test
    void anUnknownSchemaIdGoesToTheDeadLetterTopic() throws Exception {
        String job = "unknown-id";
        Map<String, Object> encoderConfig = common();
        encoderConfig.put("application.id", "registry-dlq-encoder");
        encoderConfig.put("state.dir", stateDir.resolve("dlq-encoder").toString());
        Map<String, Object> producerConfig = common();
        producerConfig.put("lcckpt.job", job);
        try (CheckpointProducer creator = new CheckpointProducer(producerConfig)) {
            creator.job(); // creates the job's topics
        }
        KafkaStreams encoder = EncoderApp.start(encoderConfig);
        try {
            Map<String, Object> config = Map.of("bootstrap.servers", kafka.bootstrapServers());
            byte[] key = WireFormat.fromConfig(common()).encode(new ChunkKey(job, "w", 0));
            byte[] value = {0, 0, 0, 0x7F, 0x31, 2, 4, 6};
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer())) {
                producer.send(new ProducerRecord<>(PREFIX + "." + job + ".raw-deltas", key, value)).get();
            }
            WireFormat wire = WireFormat.fromConfig(common());
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() ->
                    firstValues(PREFIX + "." + job + ".dead-letters", 1).stream()
                            .map(bytes -> (DeadLetter) wire.decode(bytes))
                            .anyMatch(letter -> letter.getReason().contains("unknown schema id " + 0x7F31)));
        } finally {
            encoder.close(Duration.ofSeconds(30));
        }
    }

    private static List<byte[]> firstValues(String topic, int atMost) {
        Map<String, Object> config = Map.of("bootstrap.servers", kafka.bootstrapServers(), "isolation.level", "read_committed");
        List<byte[]> values = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (values.size() < atMost && partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                consumer.poll(Duration.ofMillis(200)).forEach(record -> {
                    if (record.value() != null && values.size() < atMost) {
                        values.add(record.value());
                    }
                });
            }
        }
        return values;
    }
}
