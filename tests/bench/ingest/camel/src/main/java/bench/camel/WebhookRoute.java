package bench.camel;

import java.util.List;

import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.kafka.KafkaConstants;
import org.springframework.stereotype.Component;

/**
 * POST /v1/uis/{tenant}/{token} → one Kafka record (key: the tenant), acks=all, idempotent
 * producer; the HTTP answer is written only after the broker acknowledged the record.
 *
 * Camel's Kafka producer completes the exchange from the send callback, so the route goes on
 * after the acknowledgement; the route checks it anyway: the record's metadata (offset) is set
 * only by an acknowledged send, and without it the answer is 503, never 200.
 */
@Component
public class WebhookRoute extends RouteBuilder {
    @Override
    public void configure() {
        onException(Exception.class)
            .handled(true)
            .setHeader("CamelHttpResponseCode", constant(503))
            .setHeader("Retry-After", constant("5"))
            .setBody(constant("{\"error\":\"kafka unavailable\"}"));

        from("platform-http:/v1/uis/{tenant}/{token}?httpMethodRestrict=POST")
            .routeId("uis-webhook")
            .convertBodyTo(byte[].class)
            .setHeader(KafkaConstants.KEY, header("tenant"))
            .removeHeaders("*", KafkaConstants.KEY)
            .to("kafka:{{bench.topic}}?brokers={{bench.brokers}}&requestRequiredAcks=all"
                + "&enableIdempotence=true&recordMetadata=true&keySerializer="
                + "org.apache.kafka.common.serialization.StringSerializer&valueSerializer="
                + "org.apache.kafka.common.serialization.ByteArraySerializer")
            .process(exchange -> {
                List<?> meta = exchange.getMessage().getHeader(KafkaConstants.KAFKA_RECORD_META, List.class);
                if (meta == null || meta.isEmpty())
                    throw new IllegalStateException("no acknowledgement from the broker");
            })
            .removeHeaders("*")
            .setHeader("Content-Type", constant("application/json"))
            .setBody(constant("{\"accepted\":true}"));
    }
}
