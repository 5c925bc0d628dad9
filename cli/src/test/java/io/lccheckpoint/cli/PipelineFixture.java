package io.lccheckpoint.cli;

import io.lccheckpoint.encoder.EncoderApp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The broker-and-encoder fixture PipelineIT, SplitIT and PipelineFailuresIT share: a real single-node KRaft broker in
 * this JVM ({@link KafkaCluster}) and the encoders a test class starts on it, which {@link #close()} stops (30 s each)
 * before the broker. A test that stops an encoder itself (a crash, a resume) starts it with {@link EncoderApp} directly.
 */
final class PipelineFixture implements AutoCloseable {
    private final KafkaCluster kafka;
    private final List<KafkaStreams> encoders = new ArrayList<>();

    private PipelineFixture(KafkaCluster kafka) {
        this.kafka = kafka;
    }

    /** The broker; with {@code eagerCleaner}, a log cleaner eager enough that compaction can be observed. */
    static PipelineFixture start(boolean eagerCleaner) throws Exception {
        return new PipelineFixture(KafkaCluster.start(eagerCleaner));
    }

    String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    /** An encoder with these settings and this broker's {@code bootstrap.servers}, stopped with the fixture. */
    KafkaStreams startEncoder(Map<String, Object> settings) {
        Map<String, Object> config = new HashMap<>(settings);
        config.put("bootstrap.servers", bootstrapServers());
        KafkaStreams encoder = EncoderApp.start(config);
        encoders.add(encoder);
        return encoder;
    }

    @Override
    public void close() throws Exception {
        for (KafkaStreams encoder : encoders) {
            encoder.close(Duration.ofSeconds(30));
        }
        kafka.close();
    }
}
