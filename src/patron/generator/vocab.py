"""Word lists for synthetic records: names, places, products and comment templates.

Pure data (no Django). Chinese entries carry their pinyin so e-mail addresses can be built
without a transliteration library. Frequencies are rough, only meant to look plausible.
"""

from __future__ import annotations

# (surname, pinyin, relative frequency) — the most common Chinese surnames.
CN_SURNAMES: list[tuple[str, str, float]] = [
    ("王", "wang", 7.1), ("李", "li", 7.0), ("张", "zhang", 6.8), ("刘", "liu", 5.4),
    ("陈", "chen", 4.5), ("杨", "yang", 3.1), ("黄", "huang", 2.2), ("赵", "zhao", 2.0),
    ("吴", "wu", 1.9), ("周", "zhou", 1.9), ("徐", "xu", 1.3), ("孙", "sun", 1.3),
    ("马", "ma", 1.2), ("朱", "zhu", 1.2), ("胡", "hu", 1.1), ("郭", "guo", 1.1),
    ("何", "he", 1.0), ("林", "lin", 1.0), ("高", "gao", 1.0), ("罗", "luo", 0.9),
    ("郑", "zheng", 0.9), ("梁", "liang", 0.8), ("谢", "xie", 0.7), ("宋", "song", 0.7),
    ("唐", "tang", 0.7), ("许", "xu", 0.6), ("韩", "han", 0.6), ("冯", "feng", 0.6),
    ("邓", "deng", 0.6), ("曹", "cao", 0.6), ("彭", "peng", 0.5), ("曾", "zeng", 0.5),
    ("肖", "xiao", 0.5), ("田", "tian", 0.5), ("董", "dong", 0.5), ("潘", "pan", 0.4),
    ("袁", "yuan", 0.4), ("蔡", "cai", 0.4), ("蒋", "jiang", 0.4), ("余", "yu", 0.4),
    ("于", "yu", 0.4), ("杜", "du", 0.4), ("叶", "ye", 0.4), ("程", "cheng", 0.4),
    ("魏", "wei", 0.3), ("苏", "su", 0.3), ("吕", "lv", 0.3), ("丁", "ding", 0.3),
    ("任", "ren", 0.3), ("卢", "lu", 0.3), ("姚", "yao", 0.3), ("沈", "shen", 0.3),
    ("钟", "zhong", 0.3), ("姜", "jiang", 0.3), ("崔", "cui", 0.3), ("谭", "tan", 0.3),
    ("陆", "lu", 0.3), ("范", "fan", 0.2), ("汪", "wang", 0.2), ("廖", "liao", 0.2),
    ("石", "shi", 0.2), ("金", "jin", 0.2), ("韦", "wei", 0.2), ("贾", "jia", 0.2),
    ("夏", "xia", 0.2), ("付", "fu", 0.2), ("方", "fang", 0.2), ("邹", "zou", 0.2),
    ("欧阳", "ouyang", 0.05), ("司马", "sima", 0.02),
]

# (given name, pinyin) — common given names of one or two characters.
CN_GIVEN: list[tuple[str, str]] = [
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("秀英", "xiuying"), ("敏", "min"),
    ("静", "jing"), ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"),
    ("洋", "yang"), ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("娟", "juan"),
    ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀兰", "xiulan"), ("霞", "xia"),
    ("平", "ping"), ("刚", "gang"), ("桂英", "guiying"), ("华", "hua"), ("建华", "jianhua"),
    ("建国", "jianguo"), ("志强", "zhiqiang"), ("婷", "ting"), ("文", "wen"), ("浩", "hao"),
    ("宇", "yu"), ("欣怡", "xinyi"), ("子涵", "zihan"), ("梓萱", "zixuan"), ("浩然", "haoran"),
    ("宇轩", "yuxuan"), ("一诺", "yinuo"), ("思远", "siyuan"), ("晨", "chen"), ("雪", "xue"),
    ("琳", "lin"), ("博", "bo"), ("鹏", "peng"), ("辉", "hui"), ("玲", "ling"),
    ("红", "hong"), ("斌", "bin"), ("飞", "fei"), ("鑫", "xin"), ("波", "bo"),
    ("健", "jian"), ("俊", "jun"), ("帆", "fan"), ("佳", "jia"), ("颖", "ying"),
    ("倩", "qian"), ("慧", "hui"), ("晓明", "xiaoming"), ("海燕", "haiyan"), ("丹", "dan"),
    ("萍", "ping"), ("淑珍", "shuzhen"), ("凤英", "fengying"), ("玉兰", "yulan"), ("秀珍", "xiuzhen"),
    ("春梅", "chunmei"), ("立新", "lixin"), ("国强", "guoqiang"), ("俊杰", "junjie"), ("嘉怡", "jiayi"),
    ("雨桐", "yutong"), ("诗涵", "shihan"), ("梦琪", "mengqi"), ("子轩", "zixuan"), ("浩宇", "haoyu"),
    ("家豪", "jiahao"), ("明轩", "mingxuan"), ("思琪", "siqi"), ("晓燕", "xiaoyan"), ("志明", "zhiming"),
    ("国华", "guohua"), ("海峰", "haifeng"), ("丽娟", "lijuan"), ("文博", "wenbo"), ("天佑", "tianyou"),
    ("雅婷", "yating"), ("欣然", "xinran"), ("晓东", "xiaodong"), ("建军", "jianjun"), ("玉梅", "yumei"),
]

EN_FIRST: list[str] = [
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Emma", "Matthew", "Olivia", "Anthony", "Sophie", "Mark",
    "Emily", "Paul", "Hannah", "Steven", "Grace", "Andrew", "Chloe", "Kevin", "Laura", "Brian",
    "Amy", "George", "Rachel", "Peter", "Lucy", "Oliver", "Anna", "Lucas", "Julia", "Henry",
    "Claire", "Samuel", "Helen",
]
EN_LAST: list[str] = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark",
    "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker",
    "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans",
    "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy", "Cook", "Rogers",
    "Morgan", "Cooper", "Peterson", "Reed",
]

# Company names: trade name (zh, pinyin, en word) + industry (zh, en, domain word).
CN_TRADE_NAMES: list[tuple[str, str, str]] = [
    ("华信", "huaxin", "Sinotrust"), ("金达", "jinda", "Goldreach"), ("宏远", "hongyuan", "Farsight"),
    ("恒通", "hengtong", "Evercross"), ("瑞丰", "ruifeng", "Richharvest"), ("鑫源", "xinyuan", "Prosper"),
    ("嘉禾", "jiahe", "Goodgrain"), ("中天", "zhongtian", "Midsky"), ("博雅", "boya", "Eruditio"),
    ("天润", "tianrun", "Heavenrain"), ("永盛", "yongsheng", "Everbloom"), ("东方", "dongfang", "Orient"),
    ("远航", "yuanhang", "Voyager"), ("汇通", "huitong", "Unilink"), ("新锐", "xinrui", "Newedge"),
    ("立达", "lida", "Standfast"), ("海纳", "haina", "Oceanic"), ("聚力", "juli", "Unity"),
    ("启明", "qiming", "Daybreak"), ("星辰", "xingchen", "Starline"), ("银河", "yinhe", "Galaxy"),
    ("卓越", "zhuoyue", "Excel"), ("安泰", "antai", "Safepeak"), ("德胜", "desheng", "Virtus"),
]
INDUSTRIES: list[tuple[str, str, str]] = [
    ("科技", "Technology", "tech"), ("贸易", "Trading", "trade"), ("餐饮管理", "Catering", "food"),
    ("文化传媒", "Media", "media"), ("建筑工程", "Construction", "build"), ("医药", "Pharma", "med"),
    ("物流", "Logistics", "logi"), ("电子", "Electronics", "elec"), ("食品", "Foods", "foods"),
    ("咨询", "Consulting", "consult"), ("酒店管理", "Hospitality", "hotel"), ("教育", "Education", "edu"),
]
EN_COMPANY_SUFFIX: list[str] = ["Co., Ltd.", "Ltd.", "Group", "Holdings", "Partners"]

JOB_TITLES_ZH: list[str] = ["总经理", "采购经理", "行政主管", "财务经理", "运营总监", "办公室主任", "采购专员"]
JOB_TITLES_EN: list[str] = [
    "General Manager", "Purchasing Manager", "Office Manager", "Finance Manager",
    "Operations Director", "Procurement Officer", "Facilities Lead",
]

PERSON_MAIL_DOMAINS: list[str] = ["qq.com", "163.com", "126.com", "sina.com", "gmail.com", "outlook.com", "foxmail.com"]
MOBILE_PREFIXES: list[str] = ["130", "131", "133", "135", "136", "137", "138", "139", "150", "151", "155", "158", "159", "166", "177", "180", "186", "188", "189", "199"]

# Regions and their branches: (code, zh name, en name); branch cities with districts.
REGIONS: list[tuple[str, str, str]] = [
    ("GEN-E", "华东区", "East China"),
    ("GEN-N", "华北区", "North China"),
    ("GEN-S", "华南区", "South China"),
    ("GEN-W", "西部区", "West China"),
]
# (branch code, region index, city zh, city en, districts)
BRANCHES: list[tuple[str, int, str, str, list[str]]] = [
    ("GEN-E-SH", 0, "上海", "Shanghai", ["浦东新区", "徐汇区", "静安区", "闵行区"]),
    ("GEN-E-HZ", 0, "杭州", "Hangzhou", ["西湖区", "滨江区", "拱墅区"]),
    ("GEN-E-NJ", 0, "南京", "Nanjing", ["鼓楼区", "玄武区", "江宁区"]),
    ("GEN-N-BJ", 1, "北京", "Beijing", ["朝阳区", "海淀区", "东城区", "丰台区"]),
    ("GEN-N-TJ", 1, "天津", "Tianjin", ["和平区", "南开区", "河西区"]),
    ("GEN-N-JN", 1, "济南", "Jinan", ["历下区", "市中区", "槐荫区"]),
    ("GEN-S-GZ", 2, "广州", "Guangzhou", ["天河区", "越秀区", "海珠区", "番禺区"]),
    ("GEN-S-SZ", 2, "深圳", "Shenzhen", ["南山区", "福田区", "罗湖区", "宝安区"]),
    ("GEN-S-XM", 2, "厦门", "Xiamen", ["思明区", "湖里区", "集美区"]),
    ("GEN-W-CD", 3, "成都", "Chengdu", ["锦江区", "武侯区", "高新区"]),
    ("GEN-W-CQ", 3, "重庆", "Chongqing", ["渝中区", "江北区", "南岸区"]),
    ("GEN-W-XA", 3, "西安", "Xi'an", ["雁塔区", "碑林区", "未央区"]),
]
# Share of customers per branch (larger cities get more).
BRANCH_WEIGHTS: list[float] = [14, 7, 6, 13, 5, 4, 11, 11, 4, 8, 9, 8]
STREETS: list[str] = [
    "人民路", "解放路", "中山路", "建设路", "和平路", "长江路", "南京路", "文化路", "新华路",
    "学府路", "科技路", "滨江大道", "世纪大道", "青年路", "工业路", "光明路",
]

# Product catalogue: category (zh, en) and items (zh, en, typical price in CNY).
CATEGORIES: list[tuple[str, str, list[tuple[str, str, float]]]] = [
    ("茶叶", "Tea", [
        ("龙井绿茶", "Longjing green tea", 168), ("普洱熟茶", "Ripe Pu'er tea", 128), ("铁观音", "Tieguanyin oolong", 98),
        ("白毫银针", "Silver Needle white tea", 238), ("正山小种", "Lapsang souchong", 88), ("茉莉花茶", "Jasmine tea", 48),
    ]),
    ("茶具", "Teaware", [
        ("紫砂壶", "Yixing clay teapot", 398), ("盖碗", "Gaiwan", 68), ("公道杯", "Fairness pitcher", 45),
        ("茶盘", "Tea tray", 158), ("品茗杯套装", "Tasting cup set", 78),
    ]),
    ("咖啡", "Coffee", [
        ("云南咖啡豆", "Yunnan coffee beans", 79), ("意式拼配豆", "Espresso blend beans", 89), ("挂耳咖啡", "Drip-bag coffee", 49),
        ("咖啡滤纸", "Coffee filter papers", 19), ("手冲壶", "Pour-over kettle", 169), ("磨豆机", "Coffee grinder", 299),
    ]),
    ("零食", "Snacks", [
        ("坚果礼盒", "Mixed nuts gift box", 139), ("牛肉干", "Beef jerky", 59), ("凤梨酥", "Pineapple cakes", 69),
        ("月饼礼盒", "Mooncake gift box", 188), ("果干", "Dried fruit", 35), ("海苔", "Seaweed snacks", 25),
    ]),
    ("厨具", "Kitchenware", [
        ("不粘锅", "Non-stick pan", 199), ("电饭煲", "Rice cooker", 459), ("刀具套装", "Knife set", 299),
        ("砧板", "Cutting board", 89), ("保温杯", "Vacuum flask", 129), ("蒸锅", "Steamer pot", 239),
    ]),
    ("办公", "Office", [
        ("A4复印纸", "A4 copy paper", 139), ("硒鼓", "Toner cartridge", 259), ("签字笔", "Gel pens", 29),
        ("文件夹", "File folders", 39), ("打印机", "Laser printer", 1299), ("订书机", "Stapler", 25),
    ]),
    ("电子", "Electronics", [
        ("蓝牙耳机", "Bluetooth earbuds", 399), ("充电宝", "Power bank", 149), ("手机壳", "Phone case", 49),
        ("数据线", "Charging cable", 39), ("智能手表", "Smart watch", 1499), ("平板电脑", "Tablet", 2999),
    ]),
    ("个护", "Personal care", [
        ("洗发水", "Shampoo", 69), ("护手霜", "Hand cream", 45), ("电动牙刷", "Electric toothbrush", 299),
        ("牙刷头", "Toothbrush heads", 89), ("面膜", "Face masks", 119), ("沐浴露", "Shower gel", 59),
    ]),
]
# Size or pack variants that multiply the base price.
VARIANTS: list[tuple[str, str, float]] = [("标准装", "standard", 1.0), ("大包装", "large pack", 1.8)]

# Planted associations: items (by English item name) that are bought together on purpose,
# with the relative weight of each bundle among bundle orders.
BUNDLES: list[tuple[tuple[str, ...], float]] = [
    (("Yixing clay teapot", "Tasting cup set"), 1.0),
    (("Espresso blend beans", "Coffee filter papers"), 1.2),
    (("Laser printer", "Toner cartridge"), 0.6),
    (("Phone case", "Charging cable"), 1.0),
    (("Electric toothbrush", "Toothbrush heads"), 0.8),
    (("Longjing green tea", "Gaiwan"), 0.9),
    (("Pour-over kettle", "Coffee grinder", "Yunnan coffee beans"), 0.6),
    (("A4 copy paper", "Gel pens", "File folders"), 0.7),
]

SALES_CHANNELS: list[str] = ["store", "web", "phone", "agent", "app", "partner"]

# Comment templates: theme -> language -> sentiment -> templates. {cat} is a category name.
THEMES: list[str] = ["price", "delivery", "quality", "service", "staff", "app"]
COMMENTS: dict[str, dict[str, dict[str, list[str]]]] = {
    "price": {
        "zh": {
            "neg": ["价格太贵了，比别家贵不少。", "这次{cat}的价格涨得太多，性价比不高。", "优惠太少，价格没有竞争力。", "同样的{cat}在别处便宜很多，价格需要调整。"],
            "pos": ["价格很实惠，性价比高。", "经常有优惠，{cat}的价格很合理。", "同样的东西这里最便宜，价格公道。"],
        },
        "en": {
            "neg": ["Too expensive compared with other shops.", "The price of the {cat} went up too much, poor value for money.", "Hardly any discounts, prices are not competitive.", "I can get the same {cat} much cheaper elsewhere."],
            "pos": ["Great value for money, fair prices.", "Regular discounts and reasonable prices on {cat}.", "Cheapest price I have found, very fair."],
        },
    },
    "delivery": {
        "zh": {
            "neg": ["送货太慢了，等了一个星期。", "快递包装破损，物流很差。", "配送时间一再推迟，没人通知。", "物流信息不更新，送货太慢。"],
            "pos": ["发货很快，第二天就到了。", "物流速度快，包装完好。", "送货准时，快递员很负责。"],
        },
        "en": {
            "neg": ["Delivery was far too slow, I waited a week.", "The parcel arrived damaged, poor delivery.", "The delivery date kept slipping and nobody told me.", "Tracking never updated and the delivery was late."],
            "pos": ["Fast delivery, it arrived the next day.", "Quick shipping and the packaging was intact.", "Delivery was on time and the courier was careful."],
        },
    },
    "quality": {
        "zh": {
            "neg": ["质量很差，用了几天就坏了。", "{cat}和描述不符，做工粗糙。", "质量不稳定，这次的货有瑕疵。"],
            "pos": ["质量很好，做工精细。", "{cat}的质量稳定，一直很放心。", "东西很好用，质量超出预期。"],
        },
        "en": {
            "neg": ["Poor quality, it broke after a few days.", "The {cat} did not match the description, cheap workmanship.", "Inconsistent quality, this batch had defects."],
            "pos": ["Excellent quality and well made.", "The {cat} quality is consistent, I always trust it.", "Works great, the quality exceeded my expectations."],
        },
    },
    "service": {
        "zh": {
            "neg": ["客服态度差，问题一直没解决。", "售后服务太慢，打了好几次电话。", "投诉之后没人回复，服务很差。"],
            "pos": ["客服回复及时，问题很快解决了。", "售后服务很好，退换货处理很痛快。", "服务周到，很满意。"],
        },
        "en": {
            "neg": ["Customer service was rude and my problem is still not solved.", "After-sales service is too slow, I had to call several times.", "Nobody answered my complaint, terrible service."],
            "pos": ["Customer service replied quickly and solved my problem.", "Great after-sales service, the exchange was painless.", "Attentive service, very satisfied."],
        },
    },
    "staff": {
        "zh": {
            "neg": ["店员态度冷淡，不太专业。", "销售人员不了解{cat}，答不上问题。", "业务员承诺的事情没有做到。"],
            "pos": ["店员很热情，介绍得很专业。", "我们的客户经理很负责，随叫随到。", "销售人员耐心细致，对{cat}非常专业。"],
        },
        "en": {
            "neg": ["The shop staff were cold and unprofessional.", "The sales rep did not know the {cat} and could not answer my questions.", "Our account rep did not keep his promises."],
            "pos": ["The staff were friendly and knowledgeable.", "Our account manager is reliable and always available.", "Patient, helpful sales staff who really know their {cat}."],
        },
    },
    "app": {
        "zh": {
            "neg": ["App经常闪退，下单很麻烦。", "网站太慢了，支付总是失败。", "小程序不好用，找不到订单记录。"],
            "pos": ["App很好用，下单方便。", "网站界面清晰，买东西很方便。", "小程序操作简单，查订单很方便。"],
        },
        "en": {
            "neg": ["The app keeps crashing and ordering is a pain.", "The website is slow and payment often fails.", "The mini-program is confusing, I cannot find my orders."],
            "pos": ["The app is easy to use and ordering is quick.", "Clear website, shopping is convenient.", "The app is simple and tracking orders is easy."],
        },
    },
}
# Theme mix of negative and positive comments (the root cause a detractor analysis should find).
THEME_WEIGHTS: dict[str, list[float]] = {
    "neg": [0.25, 0.30, 0.15, 0.18, 0.04, 0.08],
    "pos": [0.08, 0.12, 0.25, 0.15, 0.28, 0.12],
}

# Interaction subjects per kind and language.
SUBJECTS: dict[str, dict[str, list[str]]] = {
    "ticket": {
        "zh": ["咨询订单状态", "发票问题", "账户登录问题", "产品使用咨询", "修改收货地址"],
        "en": ["Order status enquiry", "Invoice question", "Cannot log in", "How to use the product", "Change delivery address"],
    },
    "claim": {"zh": ["商品损坏索赔", "质量问题索赔"], "en": ["Claim for damaged goods", "Quality claim"]},
    "visit": {"zh": ["客户拜访", "季度回访"], "en": ["Customer visit", "Quarterly visit"]},
    "complaint": {
        "zh": ["投诉：送货延迟", "投诉：服务态度", "投诉：产品质量", "投诉：价格变动", "投诉：退款太慢"],
        "en": ["Complaint: late delivery", "Complaint: staff attitude", "Complaint: product quality", "Complaint: price change", "Complaint: slow refund"],
    },
    "meeting": {"zh": ["业务洽谈", "年度采购计划沟通", "新品介绍会"], "en": ["Business review", "Annual purchasing plan", "New product presentation"]},
    "outreach": {"zh": ["回访电话", "新品推荐", "会员活动邀请"], "en": ["Follow-up call", "New product suggestion", "Member event invitation"]},
}
