"""Words the simulated city is made of: surnames, given-name characters, place and firm words (all GBK)."""

from __future__ import annotations

import numpy as np

# The most frequent Chinese surnames with rough shares (percent) from the 2020 census report.
SURNAMES = (
    ("王", 7.1), ("李", 7.0), ("张", 6.8), ("刘", 5.4), ("陈", 4.6), ("杨", 3.1), ("赵", 2.3),
    ("黄", 2.2), ("周", 2.1), ("吴", 2.0), ("徐", 1.7), ("孙", 1.6), ("胡", 1.3), ("朱", 1.3),
    ("高", 1.3), ("林", 1.2), ("何", 1.2), ("郭", 1.2), ("马", 1.1), ("罗", 0.9), ("梁", 0.9),
    ("宋", 0.8), ("郑", 0.8), ("谢", 0.7), ("韩", 0.7), ("唐", 0.6), ("冯", 0.6), ("于", 0.9),
    ("董", 0.5), ("萧", 0.5), ("程", 0.5), ("曹", 0.5), ("袁", 0.5), ("邓", 0.5), ("许", 0.5),
    ("傅", 0.4), ("沈", 0.4), ("曾", 0.4), ("彭", 0.4), ("吕", 0.4), ("苏", 0.4), ("卢", 0.4),
    ("蒋", 0.4), ("蔡", 0.4), ("贾", 0.4), ("丁", 0.4), ("魏", 0.4), ("薛", 0.3), ("叶", 0.3),
    ("阎", 0.3), ("姜", 0.6), ("曲", 0.4), ("宫", 0.3), ("衣", 0.2), ("初", 0.2), ("栾", 0.2),
    ("慕", 0.1), ("隋", 0.2), ("逄", 0.1), ("牟", 0.2),
)

GIVEN_MALE = "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欣建国志文博晨阳东海峰亮成翔"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英慧莹雪琳晶颖玉婷倩丹红梅兰月玲凤洁燕萍佳欣悦雨思涵琪瑶璐蕾薇"

PLACE_WORDS = (
    "东山 向阳 毓璜 通伸 凤凰 奇山 白石 黄务 只楚 幸福 清泉 福新 门楼 回里 高疃 张格庄 大季家 "
    "宁海 文化 姜格庄 龙泉 观水 初家 滨海 解甲庄 黄海 朱吴 南王 登州 紫荆山 新港 蓬莱阁 东莱 新嘉 "
    "徐福 龙港 城厢 古柳 照旺庄 文昌 永安 梦芝 金城 三山岛 沙河 泉山 罗峰 温泉 大秦家 翠屏 庄园 "
    "松山 桃村 东方红 凤城 留格庄 方圆 盘石店 辛安 港城 芝罘 华山 长江 珠江 黄河 泰山 迎春 "
    "青年 胜利 解放 北马 南大 环山 观海 海港 红旗 建设 西南河 上夼 世回尧 莱山 滨河 双河"
).split()

ROAD_SUFFIX = ("路", "街", "大街", "大道", "巷")
FIRM_WORDS = (
    "华盛 鲁东 海达 鑫源 泰和 万华 宏远 金港 瑞丰 恒通 正大 东方 明辉 中瑞 德信 富海 嘉禾 信诚 "
    "益民 兴业 汇丰 广源 天成 新元 昌盛 永泰 润通 海洋 蓝天 绿源 华泰 鸿运 腾飞 博远 安泰 盛世"
).split()
INDUSTRY_WORDS = (
    "机械 食品 水产 贸易 物流 建筑 电子 化工 葡萄酒 果业 海产品 信息技术 医药 新材料 装饰 "
    "运输 餐饮 商贸 置业 环保 能源 汽车零部件 服装 家具 印刷 农业 旅游 文化传媒"
).split()
ENTERPRISE_SUFFIX = ("有限公司", "有限责任公司", "股份有限公司")
SURNAMES_ONLY = tuple(s for s, _ in SURNAMES)
SHOP_WORDS = "便利店 小吃部 理发店 五金店 水果店 饭店 烟酒店 超市 修车铺 洗衣店 服装店 茶叶店".split()
ORG_WORDS = "协会 商会 研究会 促进会 联合会 学会 基金会 服务中心".split()
INSTITUTION_WORDS = "服务中心 管理处 研究所 事务中心 保障中心 监测站 档案馆 发展中心 学校 医院".split()


def pick(rng: np.random.Generator, words: tuple | list | str, n: int) -> np.ndarray:
    """``n`` words drawn uniformly, as a ``U`` array."""
    pool = np.asarray(list(words))
    return pool[rng.integers(0, len(pool), n)]


def person_names(rng: np.random.Generator, sex: np.ndarray) -> np.ndarray:
    """Chinese full names (surname + 1 or 2 given characters) matching the sex codes (1 male, 2 female)."""
    n = len(sex)
    sur = np.asarray([s for s, _ in SURNAMES])
    w = np.asarray([p for _, p in SURNAMES], dtype=float)
    surname = sur[rng.choice(len(sur), n, p=w / w.sum())]
    male = np.asarray(list(GIVEN_MALE))
    female = np.asarray(list(GIVEN_FEMALE))
    is_male = np.asarray(sex) == 1
    g1 = np.where(is_male, male[rng.integers(0, len(male), n)], female[rng.integers(0, len(female), n)])
    g2 = np.where(is_male, male[rng.integers(0, len(male), n)], female[rng.integers(0, len(female), n)])
    two = rng.random(n) < 0.7
    given = np.where(two, np.char.add(g1, g2), g1)
    return np.char.add(surname, given)


def surname_of(names: np.ndarray) -> np.ndarray:
    """First character of each name (all simulated surnames are single characters)."""
    return np.asarray(names).astype("U1")
