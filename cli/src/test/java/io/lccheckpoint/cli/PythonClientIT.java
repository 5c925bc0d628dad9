package io.lccheckpoint.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lccheckpoint.producer.CheckpointProducer;
import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.EncodedChunkRecord;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.kafka.SingleObjectSerde;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Python client (python/lcckpt) against a real broker and encoder: its unittest suite (python/tests: a PyTorch
 * LeNet-5 with Adam checkpointing every step from Python, killed with SIGKILL, restored into model and optimizer with
 * strict=True and resumed in a new generation; the trainer split; bad input; every dtype), then the same tensors
 * published by the Java producer, whose chain must be the Python client's record for record. Needs Debian's
 * python3-torch and python3-numpy (.ci/run installs them).
 */
class PythonClientIT {
    private static final Path PYTHON_DIR = Path.of("../python").toAbsolutePath().normalize();
    private static PipelineFixture kafka;

    @TempDir
    static Path stateDir;

    @BeforeAll
    static void startBrokerAndEncoder() throws Exception {
        kafka = PipelineFixture.start(false);
        Map<String, Object> encoder = new HashMap<>();
        encoder.put("application.id", "python-it-encoder");
        encoder.put("state.dir", stateDir.resolve("encoder").toString());
        encoder.put("num.stream.threads", 1);
        kafka.startEncoder(encoder);
    }

    @AfterAll
    static void stop() throws Exception {
        kafka.close();
    }

    private static String python() {
        // Debian's interpreter has Debian's python3-torch; a python3 earlier on PATH may be another one
        return Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    }

    @Test
    void thePythonClientsSuitePassesAndItsChainIsTheJavaProducers(@TempDir Path exchange) throws Exception {
        Process check = new ProcessBuilder(python(), "-c", "import torch, numpy").redirectErrorStream(true).start();
        String missing = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(check.waitFor(60, TimeUnit.SECONDS) && check.exitValue() == 0)
                .as("python3 with torch and numpy (apt-get install python3-torch python3-numpy; .ci/run does): " + missing).isTrue();

        Path jar = Path.of("target/lcckpt.jar").toAbsolutePath();
        assertThat(jar).as("mvn package builds the jar the client starts").exists();
        ProcessBuilder suite = new ProcessBuilder(python(), "-m", "unittest", "discover", "-s", PYTHON_DIR.resolve("tests").toString(), "-v")
                .redirectErrorStream(true);
        suite.environment().put("LCCKPT_BOOTSTRAP", kafka.bootstrapServers());
        suite.environment().put("LCCKPT_JAR", jar.toString());
        suite.environment().put("LCCKPT_EXCHANGE", exchange.toString());
        Process run = suite.start();
        StringBuilder output = new StringBuilder();
        Thread pump = new Thread(() -> new java.io.BufferedReader(new java.io.InputStreamReader(run.getInputStream(), StandardCharsets.UTF_8))
                .lines().forEach(line -> {
                    System.out.println("[python] " + line);
                    synchronized (output) {
                        output.append(line).append('\n');
                    }
                }));
        pump.start();
        assertThat(run.waitFor(15, TimeUnit.MINUTES)).as("the Python suite finished in 15 minutes").isTrue();
        pump.join(10_000);
        String log;
        synchronized (output) {
            log = output.toString();
        }
        assertThat(run.exitValue()).as(log).isZero();
        assertThat(log).contains("Ran 11 tests").contains("OK").doesNotContain("skipped");

        // the same values, published by the Java producer: the same chain, record for record
        JsonNode layout = new ObjectMapper().readTree(exchange.resolve("tensors.json").toFile());
        int steps = layout.get("steps").asInt();
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put("lcckpt.job", "java-chain");
        config.put("lcckpt.split", "trainer");
        Map<String, DType> dtypes = new LinkedHashMap<>();
        try (CheckpointProducer producer = new CheckpointProducer(config)) {
            for (JsonNode tensor : layout.get("tensors")) {
                long[] shape = new long[tensor.get(2).size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = tensor.get(2).get(i).asLong();
                }
                String name = "model." + tensor.get(0).asText();
                dtypes.put(name, DType.valueOf(tensor.get(1).asText()));
                producer.registerTensor(name, shape, dtypes.get(name));
            }
            for (int step = 0; step < steps; step++) {
                Map<String, Object> values = new LinkedHashMap<>();
                for (Map.Entry<String, DType> entry : dtypes.entrySet()) {
                    byte[] raw = Files.readAllBytes(exchange.resolve(step + "-" + entry.getKey().substring("model.".length()) + ".bin"));
                    values.put(entry.getKey(), array(entry.getValue(), raw));
                }
                producer.publish(step, values).get(60, TimeUnit.SECONDS);
            }
        }
        io.lccheckpoint.restorer.Restorer restorer = new io.lccheckpoint.restorer.Restorer(Map.of("bootstrap.servers", kafka.bootstrapServers()));
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                .until(() -> restorer.completedSteps("java-chain").stream().anyMatch(step -> step.getStep() == steps - 1));
        Map<String, String> python = codedChunks("py-chain");
        Map<String, String> java = codedChunks("java-chain");
        assertThat(python).hasSize((steps - 1) * 5); // 5 coded steps x (w, h, f, count, mask: a chunk each)
        assertThat(java).isEqualTo(python);
    }

    /** The array the Java producer takes for a dtype, from the tensor's little-endian bytes (as Python wrote them). */
    private static Object array(DType dtype, byte[] raw) {
        ByteBuffer bytes = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        return switch (dtype) {
            case FLOAT32 -> {
                float[] values = new float[raw.length / 4];
                bytes.asFloatBuffer().get(values);
                yield values;
            }
            case BFLOAT16, FLOAT16 -> {
                short[] values = new short[raw.length / 2];
                bytes.asShortBuffer().get(values);
                yield values;
            }
            case INT64 -> {
                long[] values = new long[raw.length / 8];
                bytes.asLongBuffer().get(values);
                yield values;
            }
            case BOOL -> raw;
            default -> throw new IllegalArgumentException(dtype.toString());
        };
    }

    /** (tensor, chunk, step) -> the hex of its coded chunk, from a job's checkpoint topic. */
    private static Map<String, String> codedChunks(String job) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        Map<String, String> chunks = new TreeMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            String topic = "lcckpt." + job + ".checkpoints";
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                consumer.poll(Duration.ofMillis(200)).forEach(record -> {
                    CheckpointKey key = (CheckpointKey) SingleObjectSerde.decode(record.key());
                    if (key.getKind() == RecordKind.ENCODED_CHUNK && record.value() != null) {
                        EncodedChunkRecord value = (EncodedChunkRecord) SingleObjectSerde.decode(record.value());
                        ByteBuffer codec = value.getCodec();
                        byte[] bytes = new byte[codec.remaining()];
                        codec.duplicate().get(bytes);
                        chunks.put(key.getTensor() + "/" + key.getChunk() + "/" + key.getStep(), java.util.HexFormat.of().formatHex(bytes));
                    }
                });
            }
        }
        return chunks;
    }
}
