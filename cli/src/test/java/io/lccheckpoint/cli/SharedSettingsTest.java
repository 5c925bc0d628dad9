package io.lccheckpoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.encoder.EncoderSettings;
import io.lccheckpoint.producer.ProducerSettings;
import io.lccheckpoint.restorer.RestorerSettings;
import io.lccheckpoint.schema.kafka.SharedSettings;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.junit.jupiter.api.Test;

/** The settings the components must agree on have one definition: same name, type, default, validator and doc everywhere. */
class SharedSettingsTest {

    @Test
    void theSharedSettingsAreDefinedAlikeInEveryComponentThatTakesThem() {
        Map<String, List<ConfigDef>> takers = Map.of(
                SharedSettings.TOPIC_PREFIX_CONFIG, List.of(ProducerSettings.configDef(), EncoderSettings.configDef(), RestorerSettings.configDef()),
                SharedSettings.CODEC_PROMOTION_BITS_CONFIG, List.of(ProducerSettings.configDef(), EncoderSettings.configDef()),
                SharedSettings.CODEC_ENTROPY_CONFIG, List.of(ProducerSettings.configDef(), EncoderSettings.configDef()));
        takers.forEach((name, definitions) -> {
            ConfigDef.ConfigKey first = definitions.get(0).configKeys().get(name);
            assertThat(first).as(name).isNotNull();
            for (ConfigDef definition : definitions) {
                ConfigDef.ConfigKey key = definition.configKeys().get(name);
                assertThat(key).as(name).isNotNull();
                assertThat(key.type).as(name).isEqualTo(first.type);
                assertThat(key.defaultValue).as(name).isEqualTo(first.defaultValue);
                assertThat(key.documentation).as(name).isEqualTo(first.documentation);
                assertThat(String.valueOf(key.validator)).as(name).isEqualTo(String.valueOf(first.validator));
            }
        });
    }
}
