package io.lccheckpoint.restorer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class RestorerSettingsTest {

    @Test
    void aBadValueIsAnErrorNamingTheSetting() {
        assertThatThrownBy(() -> new Restorer(Map.of("bootstrap.servers", "localhost:9092", "lcckpt.restore.seek.margin.ms", "one second")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("lcckpt.restore.seek.margin.ms").hasMessageContaining("one second");
        assertThatThrownBy(() -> new Restorer(Map.of("bootstrap.servers", "localhost:9092", "lcckpt.restore.threads", "-1")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("lcckpt.restore.threads");
        assertThatThrownBy(() -> new Restorer(Map.of("bootstrap.servers", "localhost:9092", "lcckpt.restore.pushdown", "maybe")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("lcckpt.restore.pushdown");
    }

    @Test
    void defaultsAndPassThrough() {
        RestorerSettings settings = new RestorerSettings(Map.of("bootstrap.servers", "b:9093", "security.protocol", "SASL_SSL", "client.id", "me",
                "schema.registry.url", "http://registry:8081", "lcckpt.job", "ignored here", "lcckpt.restore.threads", "3"));
        assertThat(settings.getString(RestorerSettings.TOPIC_PREFIX_CONFIG)).isEqualTo("lcckpt");
        assertThat(settings.getBoolean(RestorerSettings.PUSHDOWN_CONFIG)).isTrue();
        assertThat(settings.getLong(RestorerSettings.SEEK_MARGIN_MS_CONFIG)).isEqualTo(1000L);
        assertThat(settings.threads()).isEqualTo(3);
        assertThat(new RestorerSettings(Map.of()).threads()).isEqualTo(Runtime.getRuntime().availableProcessors());
        // the consumer gets every Kafka setting, security included, and neither lcckpt.* nor the wire format's
        assertThat(settings.kafkaSettings()).containsOnly(Map.entry("bootstrap.servers", "b:9093"), Map.entry("security.protocol", "SASL_SSL"),
                Map.entry("client.id", "me"));
    }
}
