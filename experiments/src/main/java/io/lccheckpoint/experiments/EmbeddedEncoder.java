package io.lccheckpoint.experiments;

import io.lccheckpoint.embedded.EmbeddedKafka;
import java.io.IOException;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.streams.KafkaStreams;

/** The encoder in this JVM against an {@link EmbeddedKafka} broker, as the commands that measure the pipeline start it. */
public final class EmbeddedEncoder {
    private EmbeddedEncoder() {
    }

    /**
     * The encoder with its own application id, topic prefix and state directory. Close it before the broker: the state
     * directory is deleted with the broker's data.
     */
    public static KafkaStreams start(EmbeddedKafka kafka, String applicationId, String prefix) throws IOException {
        Map<String, Object> config = new HashMap<>();
        config.put("bootstrap.servers", kafka.bootstrapServers());
        config.put("application.id", applicationId);
        config.put("lcckpt.topic.prefix", prefix);
        // inside the broker's directory: deleted with it (a 50M-parameter job leaves gigabytes of RocksDB files)
        config.put("state.dir", Files.createTempDirectory(kafka.directory(), "streams-" + applicationId + "-").toString());
        return io.lccheckpoint.encoder.EncoderApp.start(config);
    }
}
